using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerAgent.Hosting.Tls;

/// <summary>A certificate issued by a <see cref="CertificateAuthority"/>, with its private key.</summary>
public sealed class IssuedCertificate : IDisposable
{
    public const string CertificateFileName = "tls.crt";
    public const string KeyFileName = "tls.key";

    private readonly ECDsa _key;

    internal IssuedCertificate(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    public string KeyPem => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>
    /// Writes <c>tls.crt</c> (0644), <c>tls.key</c> (0600) and the CA's <c>ca.crt</c> into <paramref name="directory"/>,
    /// each atomically: the layout of a Kubernetes TLS Secret from cert-manager, so Tls:CaFile, Tls:CertFile and
    /// Tls:KeyFile point into one directory either way.
    /// </summary>
    /// <exception cref="CertificateFilesExistException">A file exists (a different <c>ca.crt</c>, any <c>tls.*</c>) and <paramref name="force"/> is false; nothing was written.</exception>
    public IReadOnlyList<string> WriteTo(string directory, string caCertificatePem, bool force)
    {
        ArgumentNullException.ThrowIfNull(caCertificatePem);
        var certificate = Path.Combine(directory, CertificateFileName);
        var key = Path.Combine(directory, KeyFileName);
        var ca = Path.Combine(directory, CertificateAuthority.CertificateFileName);

        // Issuing into the CA's own directory leaves its ca.crt as it is.
        var caChanges = !File.Exists(ca) || File.ReadAllText(ca) != caCertificatePem;
        PemFiles.RefuseExisting(force, caChanges ? [certificate, key, ca] : [certificate, key]);
        Directory.CreateDirectory(directory);

        // Key first: a reader that sees the new certificate finds its key already there.
        PemFiles.Write(key, KeyPem, secret: true);
        PemFiles.Write(certificate, CertificatePem, secret: false);
        if (caChanges)
        {
            PemFiles.Write(ca, caCertificatePem, secret: false);
        }

        return caChanges ? [certificate, key, ca] : [certificate, key];
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
