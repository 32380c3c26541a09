using System.Security.Cryptography.X509Certificates;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Hosting.Tests.Tls;

public sealed class PeerCertificateVerifierTests : IDisposable
{
    private readonly TestCertificates _ca = TestCertificates.Create();
    private readonly X509Certificate2Collection _authority;

    public PeerCertificateVerifierTests() =>
        _authority = [X509CertificateLoader.LoadCertificate(_ca.Authority.Certificate.RawData)];

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    public void Dispose() => _ca.Dispose();

    [Fact]
    public void Verify_CertificateOfTheCa_Accepted()
    {
        using var peer = _ca.IssueCertificate("peer");

        Verify(peer.Certificate, PeerCertificateVerifier.ClientAuthentication).Should().Be(TlsRefusal.None);
        Verify(peer.Certificate, PeerCertificateVerifier.ServerAuthentication).Should().Be(TlsRefusal.None);
    }

    [Fact]
    public void Verify_NoCertificate_Refused() =>
        Verify(null, PeerCertificateVerifier.ClientAuthentication).Should().Be(TlsRefusal.NoCertificate);

    [Fact]
    public void Verify_AnotherCa_RefusedAsUntrusted()
    {
        using var other = TestCertificates.Create("another CA");
        using var peer = other.IssueCertificate("peer");

        Verify(peer.Certificate, PeerCertificateVerifier.ClientAuthentication).Should().Be(TlsRefusal.Untrusted);
    }

    [Fact]
    public void Verify_SelfSigned_RefusedAsUntrusted()
    {
        using var self = TestCertificates.Create("self");

        Verify(self.Authority.Certificate, PeerCertificateVerifier.ClientAuthentication).Should().Be(TlsRefusal.Untrusted);
    }

    [Fact]
    public void Verify_Expired_RefusedAsExpired()
    {
        using var peer = _ca.IssueCertificate("peer", Now.AddDays(-10), Now.AddDays(-1));

        Verify(peer.Certificate, PeerCertificateVerifier.ClientAuthentication).Should().Be(TlsRefusal.Expired);
    }

    [Fact]
    public void Verify_AtATimeAfterExpiry_RefusedAsExpired()
    {
        using var peer = _ca.IssueCertificate("peer", Now.AddDays(-1), Now.AddDays(1));

        PeerCertificateVerifier.Verify(peer.Certificate, null, _authority, PeerCertificateVerifier.ClientAuthentication, Now.AddDays(2), out _)
            .Should().Be(TlsRefusal.Expired, "the clock the check uses is the one passed in (TimeProvider)");
    }

    private TlsRefusal Verify(X509Certificate2? certificate, System.Security.Cryptography.Oid usage) =>
        PeerCertificateVerifier.Verify(certificate, null, _authority, usage, Now, out _);
}
