using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Hosting.Tests.Tls;

public sealed class TlsOptionsTests : IDisposable
{
    private readonly TestCertificates _ca = TestCertificates.Create();
    private readonly TempDir _dir = new("tlsopt");

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Validate_NothingConfigured_RefusesNamingTheKeysAndHowToMakeCertificates()
    {
        var errors = new TlsOptions().Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith("Tls:CaFile, Tls:CertFile and Tls:KeyFile are not set")
            .And.Contain("certs ca --out").And.Contain("certs issue").And.Contain("Tls:AllowInsecure=true");
    }

    [Fact]
    public void Validate_AllowInsecureAlone_NoErrors() =>
        new TlsOptions { AllowInsecure = true }.Validate(Now).Should().BeEmpty();

    [Fact]
    public void Validate_AllowInsecureWithFiles_RefusesNamingTheFiles()
    {
        var errors = new TlsOptions { AllowInsecure = true, CertFile = "/x/tls.crt" }.Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith("Tls:AllowInsecure=true").And.Contain("Tls:CertFile");
    }

    [Fact]
    public void Validate_HalfConfigured_NamesEachMissingKey()
    {
        var files = _ca.Issue("node");

        var errors = new TlsOptions { CertFile = files.CertFile }.Validate(Now);

        errors.Should().HaveCount(2);
        errors.Should().Contain(e => e.StartsWith("Tls:CaFile is not set", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Tls:KeyFile is not set", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_IssuedFiles_NoErrors() =>
        Options(_ca.Issue("node")).Validate(Now).Should().BeEmpty();

    [Fact]
    public void Validate_MissingFiles_NamesEachKey()
    {
        var missing = _dir.File("missing");

        var errors = new TlsOptions { CaFile = missing + ".ca", CertFile = missing + ".crt", KeyFile = missing + ".key" }.Validate(Now);

        errors.Should().HaveCount(3);
        errors.Should().Contain(e => e.StartsWith($"Tls:CaFile '{missing}.ca' cannot be read", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith($"Tls:CertFile '{missing}.crt' cannot be read", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith($"Tls:KeyFile '{missing}.key' cannot be read", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_FilesWithoutPem_NamesEachKey()
    {
        var garbage = _dir.File("garbage");
        File.WriteAllText(garbage, "not a PEM file\n");

        var errors = new TlsOptions { CaFile = garbage, CertFile = garbage, KeyFile = garbage }.Validate(Now);

        errors.Should().Contain(e => e.StartsWith("Tls:CaFile", StringComparison.Ordinal) && e.Contains("no PEM certificate", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Tls:CertFile", StringComparison.Ordinal) && e.Contains("no PEM certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_KeyOfAnotherCertificate_NamesKeyFile()
    {
        var node = _ca.Issue("node");
        var other = _ca.Issue("other");

        var errors = (Options(node) with { KeyFile = other.KeyFile }).Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith($"Tls:KeyFile '{other.KeyFile}' does not match the certificate in Tls:CertFile");
    }

    [Fact]
    public void Validate_EncryptedKey_NamesKeyFile()
    {
        var node = _ca.Issue("node");
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(node.KeyFile));
        var encrypted = _dir.File("encrypted.key");
        File.WriteAllText(encrypted, key.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        var errors = (Options(node) with { KeyFile = encrypted }).Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith("Tls:KeyFile").And.Contain("encrypted");
    }

    [Fact]
    public void Validate_ExpiredCertificate_NamesCertFile()
    {
        var expired = _ca.Issue("node", Now.AddDays(-10), Now.AddDays(-1));

        var errors = Options(expired).Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith($"Tls:CertFile '{expired.CertFile}' expired at");
    }

    [Fact]
    public void Validate_BeforeTheCertificateIsValid_NamesCertFile()
    {
        var files = _ca.Issue("node", Now.AddHours(-1), Now.AddDays(1));

        var errors = Options(files).Validate(Now.AddHours(-2));

        errors.Should().ContainSingle().Which.Should().StartWith($"Tls:CertFile '{files.CertFile}' is not valid before");
    }

    [Fact]
    public void Validate_CertificateOfAnotherCa_NamesCertFile()
    {
        using var other = TestCertificates.Create("another CA");
        var foreign = other.Issue("node");

        var errors = (Options(foreign) with { CaFile = _ca.CaFile }).Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith($"Tls:CertFile '{foreign.CertFile}' does not chain to a CA in Tls:CaFile '{_ca.CaFile}'");
    }

    [Fact]
    public void Validate_CertificateWithoutClientAuthentication_NamesCertFile()
    {
        var path = WriteServerOnlyCertificate();

        var errors = (Options(_ca.Issue("node")) with { CertFile = path.Certificate, KeyFile = path.Key }).Validate(Now);

        errors.Should().ContainSingle().Which.Should().StartWith($"Tls:CertFile '{path.Certificate}' lacks the extended key usage").And.Contain("clientAuth");
    }

    [Fact]
    public void Validate_ReloadIntervalNotPositive_NamesKey() =>
        new TlsOptions { AllowInsecure = true, ReloadInterval = TimeSpan.Zero }.Validate(Now)
            .Should().ContainSingle().Which.Should().StartWith("Tls:ReloadInterval must be positive");

    [Theory]
    [InlineData(false, "https://10.0.0.7:65002", null)]
    [InlineData(false, "http://10.0.0.7:65002", "Peer:AdvertiseUrl 'http://10.0.0.7:65002' must be https:// because mutual TLS is on")]
    [InlineData(true, "http://10.0.0.7:65002", null)]
    [InlineData(true, "https://10.0.0.7:65002", "Peer:AdvertiseUrl 'https://10.0.0.7:65002' must be http:// because Tls:AllowInsecure=true")]
    [InlineData(false, "", null)]
    [InlineData(false, "ftp://x", null)]
    public void CheckScheme_AgainstTheMode_NamesTheKey(bool insecure, string url, string? expected)
    {
        var error = new TlsOptions { AllowInsecure = insecure }.CheckScheme("Peer:AdvertiseUrl", url);

        if (expected is null)
        {
            error.Should().BeNull();
        }
        else
        {
            error.Should().StartWith(expected);
        }
    }

    [Fact]
    public void AddTlsOptions_UnconvertibleValueAndWrongScheme_ReportedWithTheOtherSections()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Tls:AllowInsecure"] = "maybe",
                ["Tls:ReloadIntervall"] = "00:00:01",
                ["Peer:ListenUrl"] = "https://127.0.0.1:0",
            })
            .Build();
        using var services = new ServiceCollection().AddLogging().AddTlsOptions(configuration, ("Peer:ListenUrl", "https://0.0.0.0:1")).BuildServiceProvider();

        var errors = ConfigurationValidation.Validate(services);

        errors.Should().Contain(e => e.Contains("Tls:AllowInsecure", StringComparison.Ordinal) && e.Contains("maybe", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Tls:ReloadIntervall is not a known key", StringComparison.Ordinal));
    }

    [Fact]
    public void AddTlsOptions_InsecureWithHttpsUrl_NamesTheUrlKey()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Tls:AllowInsecure"] = "true", ["Peer:ListenUrl"] = "https://127.0.0.1:0" })
            .Build();
        using var services = new ServiceCollection().AddLogging().AddTlsOptions(configuration, ("Peer:ListenUrl", "https://0.0.0.0:1"), ("Scheduler:Address", "")).BuildServiceProvider();

        var errors = ConfigurationValidation.Validate(services);

        errors.Should().ContainSingle().Which.Should().StartWith("Peer:ListenUrl 'https://127.0.0.1:0' must be http://");
        services.GetRequiredService<IOptions<TlsOptions>>().Invoking(o => o.Value).Should().Throw<OptionsValidationException>();
    }

    private static OptionsRecord Options(TlsFilePaths files) => new(files.CaFile, files.CertFile, files.KeyFile);

    /// <summary>A certificate of the test CA with serverAuth only.</summary>
    private (string Certificate, string Key) WriteServerOnlyCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=server-only", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.Create(_ca.Authority.Certificate, Now.AddDays(-1), Now.AddDays(1), [1, 2, 3, 4]);
        var paths = (_dir.File("server-only.crt"), _dir.File("server-only.key"));
        File.WriteAllText(paths.Item1, certificate.ExportCertificatePem());
        File.WriteAllText(paths.Item2, key.ExportPkcs8PrivateKeyPem());
        return paths;
    }

    /// <summary>TlsOptions with the three files, as a record so a test can swap one.</summary>
    private sealed record OptionsRecord(string CaFile, string CertFile, string KeyFile)
    {
        public IReadOnlyList<string> Validate(DateTimeOffset now) =>
            new TlsOptions { CaFile = CaFile, CertFile = CertFile, KeyFile = KeyFile }.Validate(now);
    }
}
