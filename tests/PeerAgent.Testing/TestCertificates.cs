using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Testing;

/// <summary>
/// A test cluster's CA in a temp dir, made with the product's own <see cref="CertificateAuthority"/> (in-process,
/// milliseconds), issuing certificate files for agents and schedulers and in-memory certificates for test clients.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Lazy<TestCertificates> SharedInstance = new(() =>
    {
        var shared = Create("shared test CA");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => shared.Dispose();
        return shared;
    });

    private readonly TempDir _dir;
    private int _issued;

    private TestCertificates(TempDir dir, CertificateAuthority authority)
    {
        _dir = dir;
        Authority = authority;
        CaFile = dir.File(CertificateAuthority.CertificateFileName);
    }

    /// <summary>
    /// The CA of processes started on their own (not through an <see cref="AgentCluster"/>): they trust each other, as
    /// the agents and scheduler of one real cluster do.
    /// </summary>
    public static TestCertificates Shared => SharedInstance.Value;

    public CertificateAuthority Authority { get; }

    /// <summary>The CA certificate file (what every process gets as Tls:CaFile).</summary>
    public string CaFile { get; }

    public static TestCertificates Create(string name = "test cluster CA")
    {
        var dir = new TempDir("ca");
        try
        {
            var now = TimeProvider.System.GetUtcNow();

            // Backdated, so tests can issue certificates that have already expired.
            var authority = CertificateAuthority.Create(name, now.AddDays(-30), now.AddDays(30));
            authority.WriteTo(dir.Path, force: false);
            return new TestCertificates(dir, authority);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Issues a certificate for <paramref name="name"/> into a directory of its own: tls.crt, tls.key, ca.crt.</summary>
    public TlsFilePaths Issue(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var directory = _dir.Sub(string.Create(CultureInfo.InvariantCulture, $"{name}-{Interlocked.Increment(ref _issued)}"));
        return IssueInto(directory, name, notBefore, notAfter, force: false);
    }

    /// <summary>Issues a certificate into <paramref name="directory"/>, replacing what is there when <paramref name="force"/>.</summary>
    public TlsFilePaths IssueInto(string directory, string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool force = true)
    {
        using var issued = IssueCertificate(name, notBefore, notAfter);
        issued.WriteTo(directory, Authority.CertificatePem, force);
        return new TlsFilePaths(
            Path.Combine(directory, CertificateAuthority.CertificateFileName),
            Path.Combine(directory, IssuedCertificate.CertificateFileName),
            Path.Combine(directory, IssuedCertificate.KeyFileName));
    }

    /// <summary>An in-memory certificate (with key) for a test client; by default valid from yesterday for a day more.</summary>
    public IssuedCertificate IssueCertificate(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var now = TimeProvider.System.GetUtcNow();
        return Authority.Issue(name, [IPAddress.Loopback], ["localhost"], notBefore ?? now.AddDays(-1), notAfter ?? now.AddDays(1));
    }

    /// <summary>
    /// A handler for gRPC channels to our listeners: presents <paramref name="client"/> (none when null) and accepts a
    /// server certificate only if it chains to this CA.
    /// </summary>
    public SocketsHttpHandler CreateHandler(X509Certificate2? client)
    {
        var authority = X509CertificateLoader.LoadCertificate(Authority.Certificate.RawData);
        var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = client is null ? null : [client],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => ChainsTo(authority, certificate),
        };
        return handler;
    }

    public void Dispose()
    {
        Authority.Dispose();
        _dir.Dispose();
    }

    internal static bool ChainsTo(X509Certificate2 authority, X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
