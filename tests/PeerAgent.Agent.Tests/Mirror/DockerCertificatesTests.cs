using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Mirror;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Mirror;

public sealed class DockerCertificatesTests : IDisposable
{
    private const string Domain = "ghcr.io.x.test";

    private readonly TempDir _dir = new("docker-certs");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly CertificateAuthority _ca;
    private readonly DockerCertificates _certificates;

    public DockerCertificatesTests()
    {
        _ca = CertificateAuthority.Create("test", _time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddDays(30));
        var map = DistributionDomainMap.Create("{registry}.x.test", ["ghcr.io"], new List<string>());
        _certificates = new DockerCertificates(Options.Create(new DockerMirrorOptions { CertificateDir = _dir.Path }), map, _time, NullLogger<DockerCertificates>.Instance);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Select_NoFiles_NullUntilTheyAppearAndTheRecheckIntervalPassed()
    {
        _certificates.Select(Domain).Should().BeNull();

        var serial = Write(days: 2);
        _certificates.Select(Domain).Should().BeNull("the files are looked at again only after the recheck interval");
        _time.Advance(DockerCertificates.RecheckInterval);

        _certificates.Select(Domain)!.SerialNumber.Should().Be(serial);
    }

    [Fact]
    public void Select_CertificateReplaced_ServesTheNewOneAfterTheRecheckInterval()
    {
        var first = Write(days: 2);
        _certificates.Select(Domain)!.SerialNumber.Should().Be(first);

        var second = Write(days: 3);
        _time.Advance(DockerCertificates.RecheckInterval);

        _certificates.Select(Domain)!.SerialNumber.Should().Be(second);
    }

    [Fact]
    public void Select_NewFilesDoNotLoad_KeepsServingThePreviousCertificate()
    {
        var first = Write(days: 2);
        _certificates.Select(Domain).Should().NotBeNull();
        File.WriteAllText(DockerCertificates.KeyPath(_dir.Path, Domain), "half-written");
        _time.Advance(DockerCertificates.RecheckInterval);

        _certificates.Select(Domain)!.SerialNumber.Should().Be(first);
    }

    [Theory]
    [InlineData("other.x.test")]
    [InlineData("")]
    [InlineData(null)]
    public void Select_NameOfNoDomain_Null(string? name)
    {
        Write(days: 2);

        _certificates.Select(name).Should().BeNull();
    }

    private string Write(int days)
    {
        using var issued = _ca.Issue(Domain, [], [Domain], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow().AddDays(days));
        File.WriteAllText(DockerCertificates.KeyPath(_dir.Path, Domain), issued.KeyPem);
        File.WriteAllText(DockerCertificates.CertificatePath(_dir.Path, Domain), issued.CertificatePem);
        return issued.Certificate.SerialNumber;
    }
}
