using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Core.Hosting;

namespace PeerAgent.Agent.Tests.Configuration;

/// <summary>The agent's per-section validators: each reports every problem of its section, naming the key and the value.</summary>
public class OptionsValidatorTests
{
    private static IReadOnlyList<string> Validate(
        MirrorOptions? mirror = null,
        MetricsOptions? metrics = null,
        StoreOptions? store = null,
        UpstreamOptions? upstream = null,
        params RegistryOptions[] registries)
    {
        var errors = new List<string>();
        Collect(new MirrorOptionsValidator().Validate(Options.DefaultName, mirror ?? new()), errors);
        Collect(new MetricsOptionsValidator().Validate(Options.DefaultName, metrics ?? new()), errors);
        Collect(new StoreOptionsValidator().Validate(Options.DefaultName, store ?? new()), errors);
        Collect(new UpstreamOptionsValidator().Validate(Options.DefaultName, upstream ?? new()), errors);
        Collect(new RegistriesValidator().Validate(Options.DefaultName, [.. registries]), errors);
        return errors;
    }

    private static void Collect(ValidateOptionsResult result, List<string> errors)
    {
        if (result.Failed)
        {
            errors.AddRange(result.Failures!);
        }
    }

    [Fact]
    public void Validate_Defaults_HasNoErrors() => Validate().Should().BeEmpty();

    [Fact]
    public void Validate_NonLoopbackMirror_NamesKeyAndOptOut()
    {
        var errors = Validate(mirror: new MirrorOptions { ListenUrl = "http://0.0.0.0:65001" });
        errors.Should().ContainSingle().Which.Should().Contain("Mirror:ListenUrl").And.Contain("Mirror:AllowNonLoopback");
    }

    [Fact]
    public void Validate_NonLoopbackMirrorAllowed_HasNoErrors() =>
        Validate(mirror: new MirrorOptions { ListenUrl = "http://0.0.0.0:65001", AllowNonLoopback = true }).Should().BeEmpty();

    [Fact]
    public void Validate_SeveralBadKeys_ReportsEveryOne()
    {
        var errors = Validate(
            mirror: new MirrorOptions { ListenUrl = "ftp://x" },
            metrics: new MetricsOptions { ListenUrl = "http://127.0.0.1" },
            store: new StoreOptions { QuotaBytes = 0 },
            upstream: new UpstreamOptions { MaxRetries = -1 });

        errors.Should().HaveCount(4);
        errors.Should().Contain(e => e.StartsWith("Mirror:ListenUrl", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Metrics:ListenUrl", StringComparison.Ordinal) && e.Contains("port", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Store:QuotaBytes", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Upstream:MaxRetries", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_NodeCredentialsOnPrivateRegistry_IsRejected()
    {
        var errors = Validate(registries: new RegistryOptions { Host = "ghcr.io", Username = "bot", Password = "secret" });
        errors.Should().ContainSingle().Which.Should().Contain("Registries:0:Public=true");
        errors[0].Should().NotContain("secret", because: "errors must never echo a password");
    }

    [Fact]
    public void Validate_DuplicateAndInvalidHosts_NameTheirIndex()
    {
        var errors = Validate(registries:
        [
            new RegistryOptions { Host = "Registry.Example:5000" },
            new RegistryOptions { Host = "registry.example:5000" },
            new RegistryOptions { Host = "not a host" },
            new RegistryOptions { Host = "ok.example", Endpoint = "not-a-url" },
        ]);

        errors.Should().Contain(e => e.StartsWith("Registries:1:Host", StringComparison.Ordinal) && e.Contains("twice", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Registries:2:Host", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Registries:3:Endpoint", StringComparison.Ordinal));
        errors.Should().HaveCount(3);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0", true)]
    [InlineData("http://localhost:65001", true)]
    [InlineData("http://[::1]:65001", true)]
    [InlineData("http://*:65003", false)]
    public void ListenEndpoint_TryParse_RecognisesLoopback(string url, bool loopback)
    {
        ListenEndpoint.TryParse(url, out var error, out var endpoint).Should().BeTrue(because: error);
        endpoint.IsLoopback.Should().Be(loopback);
    }
}
