using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Hosting.Tests.Tls;

public sealed class CertificateSourceTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly TestCertificates _ca = TestCertificates.Create();
    private readonly TempDir _dir = new("source");
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private readonly ListLogger _logger = new();

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Reload_FilesReplaced_NextIntervalServesTheNewCertificate()
    {
        var files = _ca.IssueInto(_dir.Sub("node"), "node");
        using var source = Start(files);
        var first = source.Certificate.SerialNumber;

        _ca.IssueInto(files.Directory, "node");
        _time.Advance(Interval);

        source.Certificate.SerialNumber.Should().NotBe(first, "new handshakes use the replaced files");
        source.Certificate.HasPrivateKey.Should().BeTrue();
        _logger.Entries.Should().Contain(e => e.EventId == 6003 && e.Message.Contains(source.Certificate.SerialNumber, StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_Unchanged_KeepsTheSameMaterial()
    {
        var files = _ca.IssueInto(_dir.Sub("node"), "node");
        using var source = Start(files);
        var before = source.Current;

        _time.Advance(Interval * 3);

        source.Current.Should().BeSameAs(before);
        source.Reload().Should().BeFalse();
        _logger.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Reload_HalfWrittenPair_KeepsThePreviousCertificateAndWarnsOnce()
    {
        var files = _ca.IssueInto(_dir.Sub("node"), "node");
        using var source = Start(files);
        var first = source.Certificate.SerialNumber;
        var staging = _ca.IssueInto(_dir.Sub("staging"), "node");

        // The new certificate arrives before its key.
        File.Copy(staging.CertFile, files.CertFile, overwrite: true);
        _time.Advance(Interval);
        _time.Advance(Interval);

        source.Certificate.SerialNumber.Should().Be(first, "a certificate whose key has not arrived yet is not used");
        _logger.Entries.Where(e => e.EventId == 6004).Should().ContainSingle("the same broken state is reported once, not every interval")
            .Which.Message.Should().Contain("Tls:KeyFile").And.Contain(first);

        File.Copy(staging.KeyFile, files.KeyFile, overwrite: true);
        _time.Advance(Interval);

        using var staged = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(staging.CertFile);
        source.Certificate.SerialNumber.Should().Be(staged.SerialNumber, "the pair is complete now");
    }

    [Fact]
    public void Reload_FileMissingForAMoment_KeepsThePreviousCertificate()
    {
        var files = _ca.IssueInto(_dir.Sub("node"), "node");
        using var source = Start(files);
        var first = source.Certificate.SerialNumber;
        File.Move(files.KeyFile, files.KeyFile + ".away");

        _time.Advance(Interval);

        source.Certificate.SerialNumber.Should().Be(first);
        _logger.Entries.Should().Contain(e => e.EventId == 6004 && e.Message.Contains("cannot be read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reload_SecretVolumeSymlinkSwap_ServesTheNewCertificate()
    {
        var volume = await SecretVolume.CreateAsync(_dir.Sub("volume"), _ca, "node");
        using var source = Start(volume.Files);
        source.Certificate.SerialNumber.Should().Be(volume.Serial);

        var updated = await volume.UpdateAsync();
        _time.Advance(Interval);

        source.Certificate.SerialNumber.Should().Be(updated, "the swapped ..data link is followed on the next read");
    }

    [Fact]
    public void ServerOptions_AfterReload_UseTheNewCertificate()
    {
        var files = _ca.IssueInto(_dir.Sub("node"), "node");
        using var source = Start(files);
        var before = source.CreateServerOptions();

        _ca.IssueInto(files.Directory, "node");
        source.Reload().Should().BeTrue();
        var after = source.CreateServerOptions();

        after.ServerCertificateContext!.TargetCertificate.SerialNumber.Should().Be(source.Certificate.SerialNumber);
        before.ServerCertificateContext!.TargetCertificate.SerialNumber.Should().NotBe(source.Certificate.SerialNumber,
            "options already handed to a handshake keep their certificate");
        after.ClientCertificateRequired.Should().BeTrue();
    }

    private CertificateSource Start(TlsFilePaths files) =>
        new(new TlsOptions { CaFile = files.CaFile, CertFile = files.CertFile, KeyFile = files.KeyFile, ReloadInterval = Interval }, _time, _logger);
}
