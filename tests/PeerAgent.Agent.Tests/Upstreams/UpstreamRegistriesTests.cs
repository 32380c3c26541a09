using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Upstreams;

namespace PeerAgent.Agent.Tests.Upstreams;

public class UpstreamRegistriesTests
{
    private static UpstreamRegistries Create(string defaultRegistry = "docker.io", params RegistryOptions[] registries) => new(
        Options.Create(new MirrorOptions { DefaultRegistry = defaultRegistry }),
        Options.Create(new UpstreamOptions()),
        Options.Create(registries.ToList()),
        TimeProvider.System,
        NullLogger<UpstreamRegistry>.Instance);

    [Fact]
    public void Resolve_NsQuery_SelectsThatRegistry()
    {
        using var registries = Create();
        var target = registries.Resolve("127.0.0.1:5000", "team/app", out var error);
        error.Should().BeNull();
        target!.Registry.Host.Should().Be("127.0.0.1:5000");
        target.Repository.Should().Be("team/app");
    }

    [Fact]
    public void Resolve_DockerHubOneComponentName_AddsLibraryAndUsesRegistryOne()
    {
        using var registries = Create();
        var target = registries.Resolve("docker.io", "alpine", out _);
        target!.Repository.Should().Be("library/alpine");
        target.Registry.BaseUri.Should().Be(new Uri("https://registry-1.docker.io/"));
    }

    [Fact]
    public void Resolve_NoNsAndHostPrefix_TakesRegistryFromPath()
    {
        using var registries = Create();
        var target = registries.Resolve(null, "ghcr.io/org/app", out _);
        target!.Registry.Host.Should().Be("ghcr.io");
        target.Repository.Should().Be("org/app");
    }

    [Fact]
    public void Resolve_NoNsNoHostPrefix_UsesDefaultRegistry()
    {
        using var registries = Create("127.0.0.1:5000", new RegistryOptions { Host = "127.0.0.1:5000", PlainHttp = true });
        var target = registries.Resolve(null, "team/app", out _);
        target!.Registry.Host.Should().Be("127.0.0.1:5000");
        target.Registry.BaseUri.Should().Be(new Uri("http://127.0.0.1:5000/"), because: "PlainHttp registries are reached over http");
        target.Repository.Should().Be("team/app");
    }

    [Fact]
    public void Resolve_ConfiguredEndpoint_OverridesWhereTheAgentConnects()
    {
        using var registries = Create(registries: new RegistryOptions { Host = "registry.example", Endpoint = "http://127.0.0.1:6000" });
        registries.Resolve("registry.example", "app", out _)!.Registry.BaseUri.Should().Be(new Uri("http://127.0.0.1:6000/"));
    }

    [Theory]
    [InlineData("bad host!", "app")]
    [InlineData("127.0.0.1:5000", "UPPER/case")]
    [InlineData("127.0.0.1:5000", "a//b")]
    public void Resolve_InvalidHostOrName_ReturnsError(string ns, string name)
    {
        using var registries = Create();
        registries.Resolve(ns, name, out var error).Should().BeNull();
        error.Should().NotBeNullOrEmpty();
    }
}
