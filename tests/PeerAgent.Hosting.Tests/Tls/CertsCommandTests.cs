using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Hosting.Tests.Tls;

public sealed class CertsCommandTests : IDisposable
{
    private readonly TempDir _dir = new("certs");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    private string Ca => Path.Combine(_dir.Path, "ca");

    private string Node => Path.Combine(_dir.Path, "node-1");

    public void Dispose()
    {
        _dir.Dispose();
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public void Ca_NewDirectory_WritesCertificateAndPrivateKeyMode0600()
    {
        Run("ca", "--out", Ca).Should().Be(0, _error.ToString());

        File.Exists(Path.Combine(Ca, "ca.crt")).Should().BeTrue();
        ModeOf(Path.Combine(Ca, "ca.key")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "the CA key is secret");
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Ca, "ca.crt"));
        ca.Subject.Should().Be("CN=PeerAgent cluster CA");
        ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.Should().BeTrue();
        ca.NotAfter.ToUniversalTime().Should().Be(_time.GetUtcNow().AddDays(3650).UtcDateTime);
        ca.GetECDsaPublicKey().Should().NotBeNull("certificates are ECDSA P-256");
        Directory.GetFiles(Ca).Should().HaveCount(2, "no temporary file is left behind");
    }

    [Fact]
    public void Ca_Existing_RefusesWithStatus1AndLeavesItAlone()
    {
        Run("ca", "--out", Ca).Should().Be(0);
        var before = File.ReadAllText(Path.Combine(Ca, "ca.key"));

        Run("ca", "--out", Ca, "--name", "another").Should().Be(1);

        _error.ToString().Should().Contain("already exist").And.Contain("--force");
        File.ReadAllText(Path.Combine(Ca, "ca.key")).Should().Be(before, "an existing CA is never overwritten without --force");
    }

    [Fact]
    public void Ca_ExistingWithForce_Replaces()
    {
        Run("ca", "--out", Ca).Should().Be(0);
        var before = File.ReadAllText(Path.Combine(Ca, "ca.key"));

        Run("ca", "--out", Ca, "--force", "--name=second CA").Should().Be(0, _error.ToString());

        File.ReadAllText(Path.Combine(Ca, "ca.key")).Should().NotBe(before);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Ca, "ca.crt"));
        ca.Subject.Should().Be("CN=second CA");
    }

    [Fact]
    public void Issue_WritesCertificateKeyAndCa_ThatTheAgentAccepts()
    {
        Run("ca", "--out", Ca).Should().Be(0);

        Run("issue", "--ca", Ca, "--name", "node-1", "--ip", "10.0.0.7", "--ip", "::1", "--dns", "node-1.cluster.local", "--days", "30", "--out", Node)
            .Should().Be(0, _error.ToString());

        ModeOf(Path.Combine(Node, "tls.key")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.ReadAllText(Path.Combine(Node, "ca.crt")).Should().Be(File.ReadAllText(Path.Combine(Ca, "ca.crt")));
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Node, "tls.crt"));
        certificate.Subject.Should().Be("CN=node-1");
        certificate.NotAfter.ToUniversalTime().Should().Be(_time.GetUtcNow().AddDays(30).UtcDateTime);
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        san.EnumerateIPAddresses().Select(a => a.ToString()).Should().BeEquivalentTo("10.0.0.7", "::1");
        san.EnumerateDnsNames().Should().Equal("node-1.cluster.local");
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()
            .Select(o => o.Value).Should().BeEquivalentTo("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        new TlsOptions { CaFile = Path.Combine(Node, "ca.crt"), CertFile = Path.Combine(Node, "tls.crt"), KeyFile = Path.Combine(Node, "tls.key") }
            .Validate(_time.GetUtcNow()).Should().BeEmpty("the files certs issue writes are what Tls:* expects");
    }

    [Fact]
    public void Issue_Existing_RefusesUnlessForce()
    {
        Run("ca", "--out", Ca).Should().Be(0);
        Run("issue", "--ca", Ca, "--name", "node-1", "--out", Node).Should().Be(0);
        var before = File.ReadAllText(Path.Combine(Node, "tls.crt"));

        Run("issue", "--ca", Ca, "--name", "node-1", "--out", Node).Should().Be(1);
        File.ReadAllText(Path.Combine(Node, "tls.crt")).Should().Be(before);

        Run("issue", "--ca", Ca, "--name", "node-1", "--out", Node, "--force").Should().Be(0, _error.ToString());
        File.ReadAllText(Path.Combine(Node, "tls.crt")).Should().NotBe(before);
    }

    [Fact]
    public void Issue_IntoTheCaDirectory_KeepsItsCaCertificate()
    {
        Run("ca", "--out", Ca).Should().Be(0);

        Run("issue", "--ca", Ca, "--name", "scheduler", "--out", Ca).Should().Be(0, _error.ToString());

        Directory.GetFiles(Ca).Select(Path.GetFileName).Should().BeEquivalentTo("ca.crt", "ca.key", "tls.crt", "tls.key");
    }

    [Fact]
    public void Issue_LongerThanTheCa_EndsWithTheCa()
    {
        Run("ca", "--out", Ca, "--days", "10").Should().Be(0);

        Run("issue", "--ca", Ca, "--name", "node-1", "--out", Node).Should().Be(0, _error.ToString());

        using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Node, "tls.crt"));
        certificate.NotAfter.ToUniversalTime().Should().Be(_time.GetUtcNow().AddDays(10).UtcDateTime);
        _output.ToString().Should().Contain("the CA expires");
    }

    [Fact]
    public void Issue_NoCaThere_Status1NamingTheFiles()
    {
        Run("issue", "--ca", Ca, "--name", "node-1", "--out", Node).Should().Be(1);

        _error.ToString().Should().Contain("cannot load the CA").And.Contain("ca.crt");
        Directory.Exists(Node).Should().BeFalse();
    }

    [Theory]
    [InlineData(new[] { "issue", "--name", "n", "--out", "o" }, "needs --ca DIR")]
    [InlineData(new[] { "issue", "--ca", "c", "--out", "o", "--ip", "not-an-ip", "--name", "n" }, "--ip 'not-an-ip' is not an IP address")]
    [InlineData(new[] { "issue", "--ca", "c", "--out", "o", "--dns", "bad name", "--name", "n" }, "--dns 'bad name' is not a DNS name")]
    [InlineData(new[] { "ca", "--out", "o", "--days", "0" }, "--days '0' must be")]
    [InlineData(new[] { "ca", "--out", "o", "--ip", "10.0.0.1" }, "certs ca does not take --ip")]
    [InlineData(new[] { "ca" }, "needs --out DIR")]
    [InlineData(new[] { "ca", "--out" }, "--out needs a value")]
    [InlineData(new[] { "renew" }, "unknown command 'renew'")]
    [InlineData(new[] { "ca", "--bogus" }, "unknown argument '--bogus'")]
    public void Run_UsageError_Status2SayingWhat(string[] args, string expected)
    {
        Run(args).Should().Be(2);

        _error.ToString().Should().Contain(expected).And.Contain("Usage:");
    }

    [Fact]
    public void Run_Help_Status0WithUsage()
    {
        Run("--help").Should().Be(0);

        _output.ToString().Should().Contain("certs ca --out DIR").And.Contain("certs issue --ca DIR --name NODE");
    }

    private static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException("file modes are POSIX") : File.GetUnixFileMode(path);

    private int Run(params string[] args) => CertsCommand.Run(args, _output, _error, _time);
}
