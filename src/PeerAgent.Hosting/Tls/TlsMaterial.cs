using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace PeerAgent.Hosting.Tls;

/// <summary>The three TLS files as read once: the CA bundle, this process's certificate with its key and intermediates.</summary>
internal sealed class TlsMaterial : IDisposable
{
    private TlsMaterial(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection authority, byte[] fingerprint)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        Authority = authority;
        Fingerprint = fingerprint;

        // Built once per load, not per handshake: the chain sent to peers is fixed until the files change.
        Context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
    }

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Certificates after the first in the certificate file, sent along with it by the server.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The cluster CA: the only roots a peer's certificate may chain to.</summary>
    public X509Certificate2Collection Authority { get; }

    public SslStreamCertificateContext Context { get; }

    /// <summary>sha256 over the three files' bytes: equal fingerprints, same material.</summary>
    public byte[] Fingerprint { get; }

    /// <summary>Reads and checks the files named by <paramref name="options"/>; null, with every problem in <paramref name="errors"/>, when they are unusable.</summary>
    public static TlsMaterial? TryLoad(TlsOptions options, DateTimeOffset now, ICollection<string> errors)
    {
        var files = TlsFiles.Read(options, errors);
        return files is null ? null : TryLoad(options, files, now, errors);
    }

    /// <summary>Parses files already read; null, with every problem in <paramref name="errors"/>, when they are unusable.</summary>
    public static TlsMaterial? TryLoad(TlsOptions options, TlsFiles files, DateTimeOffset now, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(files);
        var before = errors.Count;
        var authority = ParseCertificates(files.Ca, TlsOptions.CaFileKey, options.CaFile, errors);
        var chain = ParseCertificates(files.Certificate, TlsOptions.CertFileKey, options.CertFile, errors);
        if (chain is null)
        {
            return null;
        }

        var leaf = chain[0];
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        var withKey = AttachKey(leaf, files.Key, options, errors);
        CheckCertificate(leaf, intermediates, authority, options, now, errors);
        if (errors.Count > before || withKey is null || authority is null)
        {
            withKey?.Dispose();
            return null;
        }

        return new TlsMaterial(withKey, intermediates, authority, files.Fingerprint);
    }

    /// <summary>"serial 0A1B…, CN=node-1, valid until 2027-01-01 00:00:00Z": how logs name a certificate.</summary>
    public static string Describe(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return string.Create(CultureInfo.InvariantCulture, $"serial {certificate.SerialNumber}, {certificate.Subject}, valid until {certificate.NotAfter.ToUniversalTime():u}");
    }

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var certificate in Intermediates)
        {
            certificate.Dispose();
        }

        foreach (var certificate in Authority)
        {
            certificate.Dispose();
        }
    }

    private static X509Certificate2Collection? ParseCertificates(byte[] pem, string key, string path, ICollection<string> errors)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(Encoding.UTF8.GetString(pem));
        }
        catch (CryptographicException ex)
        {
            errors.Add($"{key} '{path}' holds a PEM certificate that does not parse: {ex.Message}");
            return null;
        }

        if (collection.Count == 0)
        {
            errors.Add($"{key} '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            return null;
        }

        return collection;
    }

    private static X509Certificate2? AttachKey(X509Certificate2 leaf, byte[] pem, TlsOptions options, ICollection<string> errors)
    {
        var text = Encoding.UTF8.GetString(pem);
        if (text.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            errors.Add($"{TlsOptions.KeyFileKey} '{options.KeyFile}' is encrypted; give the key unencrypted (mode 0600).");
            return null;
        }

        var certificatePublicKey = leaf.PublicKey.ExportSubjectPublicKeyInfo();
        try
        {
            if (leaf.GetECDsaPublicKey() is { } ecdsaPublic)
            {
                ecdsaPublic.Dispose();
                using var ecdsa = ECDsa.Create();
                ecdsa.ImportFromPem(text);
                return Matches(ecdsa.ExportSubjectPublicKeyInfo()) ? leaf.CopyWithPrivateKey(ecdsa) : null;
            }

            if (leaf.GetRSAPublicKey() is { } rsaPublic)
            {
                rsaPublic.Dispose();
                using var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                return Matches(rsa.ExportSubjectPublicKeyInfo()) ? leaf.CopyWithPrivateKey(rsa) : null;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            // No PEM key of the certificate's algorithm (an RSA key for an ECDSA certificate lands here too).
            errors.Add($"{TlsOptions.KeyFileKey} '{options.KeyFile}' holds no private key for the certificate in {TlsOptions.CertFileKey} '{options.CertFile}': {ex.Message}");
            return null;
        }

        errors.Add($"{TlsOptions.CertFileKey} '{options.CertFile}' has a key type other than ECDSA or RSA; issue an ECDSA P-256 certificate.");
        return null;

        bool Matches(byte[] keyPublicKey)
        {
            if (keyPublicKey.AsSpan().SequenceEqual(certificatePublicKey))
            {
                return true;
            }

            errors.Add($"{TlsOptions.KeyFileKey} '{options.KeyFile}' does not match the certificate in {TlsOptions.CertFileKey} '{options.CertFile}'.");
            return false;
        }
    }

    private static void CheckCertificate(
        X509Certificate2 leaf, X509Certificate2Collection intermediates, X509Certificate2Collection? authority, TlsOptions options, DateTimeOffset now, ICollection<string> errors)
    {
        var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        if (now > notAfter)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{TlsOptions.CertFileKey} '{options.CertFile}' expired at {notAfter:u}; issue a new certificate."));
            return;
        }

        if (now < notBefore)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{TlsOptions.CertFileKey} '{options.CertFile}' is not valid before {notBefore:u} (is this clock right?)."));
            return;
        }

        // One certificate serves both ends of every connection.
        foreach (var usage in new[] { PeerCertificateVerifier.ServerAuthentication, PeerCertificateVerifier.ClientAuthentication })
        {
            if (!PeerCertificateVerifier.AllowsUsage(leaf, usage))
            {
                errors.Add($"{TlsOptions.CertFileKey} '{options.CertFile}' lacks the extended key usage {usage.FriendlyName ?? usage.Value} ({usage.Value}); "
                    + "it is used as server and as client certificate, so it needs both serverAuth and clientAuth.");
            }
        }

        if (authority is not null)
        {
            var refusal = PeerCertificateVerifier.Verify(leaf, intermediates, authority, usage: null, now, out var detail);
            if (refusal != TlsRefusal.None)
            {
                errors.Add($"{TlsOptions.CertFileKey} '{options.CertFile}' does not chain to a CA in {TlsOptions.CaFileKey} '{options.CaFile}': {detail}.");
            }
        }
    }
}
