using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// The identity check of both ends: a peer is a member of the cluster when its certificate chains to the cluster
/// CA (only that CA, never the system store), is valid now, and allows the TLS role it plays. Names are not checked:
/// agents dial each other by IP and a DaemonSet may share one certificate (docs/security.md).
/// </summary>
internal static class PeerCertificateVerifier
{
    /// <summary>id-kp-serverAuth: what a listener's certificate must allow.</summary>
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "TLS Web Server Authentication");

    /// <summary>id-kp-clientAuth: what a dialling peer's certificate must allow.</summary>
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "TLS Web Client Authentication");

    /// <summary>
    /// Checks <paramref name="certificate"/> against <paramref name="authority"/> at <paramref name="now"/>;
    /// <paramref name="presented"/> holds intermediates the peer sent. <paramref name="usage"/> null skips the EKU check.
    /// </summary>
    public static TlsRefusal Verify(
        X509Certificate2? certificate,
        X509Certificate2Collection? presented,
        X509Certificate2Collection authority,
        Oid? usage,
        DateTimeOffset now,
        out string detail)
    {
        ArgumentNullException.ThrowIfNull(authority);
        if (certificate is null)
        {
            detail = "no certificate presented";
            return TlsRefusal.NoCertificate;
        }

        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(authority);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        if (presented is not null)
        {
            policy.ExtraStore.AddRange(presented);
        }

        // Intermediates an operator put in the CA bundle help a peer that sends only its leaf.
        policy.ExtraStore.AddRange(authority);
        if (usage is not null)
        {
            policy.ApplicationPolicy.Add(usage);
        }

        try
        {
            if (chain.Build(certificate))
            {
                detail = "";
                return TlsRefusal.None;
            }

            var flags = X509ChainStatusFlags.NoError;
            var messages = new List<string>();
            foreach (var status in chain.ChainStatus)
            {
                flags |= status.Status;
                messages.Add(status.StatusInformation.Trim());
            }

            detail = messages.Count == 0 ? "the chain does not build" : string.Join("; ", messages.Distinct());
            const X509ChainStatusFlags untrusted = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain
                | X509ChainStatusFlags.NotSignatureValid | X509ChainStatusFlags.Cyclic | X509ChainStatusFlags.ExplicitDistrust;
            return (flags & untrusted) != 0 ? TlsRefusal.Untrusted
                : (flags & X509ChainStatusFlags.NotTimeValid) != 0 ? TlsRefusal.Expired
                : (flags & X509ChainStatusFlags.NotValidForUsage) != 0 ? TlsRefusal.WrongUsage
                : TlsRefusal.Untrusted;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    /// <summary>True when the certificate has no EKU extension (any usage) or one that lists <paramref name="usage"/>.</summary>
    public static bool AllowsUsage(X509Certificate2 certificate, Oid usage)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(usage);
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (var oid in eku.EnhancedKeyUsages)
                {
                    if (oid.Value == usage.Value)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return true;
    }
}
