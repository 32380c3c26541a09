using Microsoft.AspNetCore.Builder;
using PeerAgent.Agent.Hosting;
using PeerAgent.Agent.Mirror;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Configuration;

/// <summary>The DockerMirror section as the agent checks it at start.</summary>
public sealed class DockerMirrorOptionsTests : IDisposable
{
    private readonly TempDir _dir = new("docker-options");

    private string[] Base =>
    [
        "--Mirror:ListenUrl=http://127.0.0.1:0",
        "--Metrics:ListenUrl=http://127.0.0.1:0",
        "--Peer:ListenUrl=http://127.0.0.1:0",
        "--Tls:AllowInsecure=true",
        "--Store:DataDir=" + _dir.Sub("store"),
    ];

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Build_Defaults_DisabledAndValid()
    {
        Errors().Should().BeEmpty();
    }

    [Fact]
    public void Build_EveryBadValue_ReportsEachNamingItsKey()
    {
        Errors("--DockerMirror:ListenAddress=10.0.0.7", "--DockerMirror:Port=0", "--DockerMirror:DomainPattern=mirror.internal", "--DockerMirror:Listen=x")
            .Should().BeEquivalentTo(
                "DockerMirror:Listen is not a known key; known keys in DockerMirror: Enabled, ListenAddress, Port, DomainPattern, CertificateDir.",
                "DockerMirror:ListenAddress '10.0.0.7' is not a loopback address; set Mirror:AllowNonLoopback=true to expose the mirror.",
                "DockerMirror:Port must be in [1, 65535], not 0.",
                "DockerMirror:DomainPattern pattern 'mirror.internal' must contain {registry} exactly once.");
    }

    [Fact]
    public void Build_NonLoopbackWithAllowNonLoopback_Accepted()
    {
        Errors("--DockerMirror:ListenAddress=10.0.0.7", "--Mirror:AllowNonLoopback=true").Should().BeEmpty();
    }

    [Fact]
    public void Build_EnabledWithoutCertificateDir_SaysToRunTheInstaller()
    {
        var missing = Path.Join(_dir.Path, "missing");

        Errors("--DockerMirror:Enabled=true", "--DockerMirror:CertificateDir=" + missing)
            .Should().Equal($"DockerMirror:CertificateDir '{missing}' does not exist; run PeerAgent.Installer install --runtime docker --docker-tls-dir {missing} first.");
    }

    [Fact]
    public void Build_EnabledWithNoCertificateForAnyDomain_FailsNamingTheDomains()
    {
        var errors = Errors("--DockerMirror:Enabled=true", "--DockerMirror:CertificateDir=" + _dir.Sub("tls"), "--Registries:0:Host=ghcr.io");

        errors.Should().ContainSingle().Which.Should()
            .Contain("holds no certificate for any of docker.io.peeragent.internal, ghcr.io.peeragent.internal");
    }

    [Fact]
    public void Build_EnabledWithAKeyWithoutItsCertificate_Fails()
    {
        var tls = _dir.Sub("tls");
        WriteCertificate(tls, "docker.io.peeragent.internal");
        File.WriteAllText(Path.Join(tls, "ghcr.io.peeragent.internal.key"), "stray");

        var errors = Errors("--DockerMirror:Enabled=true", "--DockerMirror:CertificateDir=" + tls, "--Registries:0:Host=ghcr.io");

        errors.Should().ContainSingle().Which.Should().Contain("ghcr.io.peeragent.internal.crt is missing");
    }

    [Fact]
    public void Build_EnabledWithTheDefaultRegistrysCertificate_Valid()
    {
        var tls = _dir.Sub("tls");
        WriteCertificate(tls, "docker.io.peeragent.internal");

        Errors("--DockerMirror:Enabled=true", "--DockerMirror:ListenAddress=127.0.0.1", "--DockerMirror:Port=1", "--DockerMirror:CertificateDir=" + tls, "--Registries:0:Host=ghcr.io")
            .Should().BeEmpty("ghcr.io's domain simply has no certificate yet; docker.io's loads");
    }

    [Fact]
    public void Create_TwoRegistriesOneDomain_Error()
    {
        var errors = new List<string>();

        DistributionDomainMap.Create("{registry}.x.test", ["registry.example:5000", "registry.example-5000"], errors);

        errors.Should().ContainSingle().Which.Should().Contain("the same domain registry.example-5000.x.test");
    }

    [Theory]
    [InlineData("ghcr.io.x.test", "ghcr.io")]
    [InlineData("GHCR.IO.x.test", "ghcr.io")]
    [InlineData("ghcr.io.x.test.", "ghcr.io")]
    [InlineData("registry.example-5000.x.test", "registry.example:5000")]
    [InlineData("docker.io.x.test", "docker.io")]
    [InlineData("quay.io.x.test", null)]
    [InlineData("ghcr.io", null)]
    [InlineData("", null)]
    public void RegistryFor_Host_MapsOnlyConfiguredDomains(string host, string? registry)
    {
        var map = DistributionDomainMap.Create("{registry}.x.test", ["ghcr.io", "registry.example:5000", "index.docker.io", "[::1]:5000"], new List<string>());

        map.RegistryFor(host).Should().Be(registry);
    }

    private static void WriteCertificate(string directory, string domain)
    {
        var now = TimeProvider.System.GetUtcNow();
        using var ca = CertificateAuthority.Create("test", now.AddMinutes(-5), now.AddDays(1));
        using var issued = ca.Issue(domain, [], [domain], now.AddMinutes(-5), now.AddHours(1));
        File.WriteAllText(DockerCertificates.CertificatePath(directory, domain), issued.CertificatePem);
        File.WriteAllText(DockerCertificates.KeyPath(directory, domain), issued.KeyPem);
    }

    private IReadOnlyList<string> Errors(params string[] args)
    {
        var app = AgentApp.Build([.. Base, .. args], out var errors);
        ((IDisposable?)app)?.Dispose();
        return errors;
    }
}
