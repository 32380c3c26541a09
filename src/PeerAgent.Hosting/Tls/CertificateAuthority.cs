using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// A cluster CA for clusters that have none (no cert-manager): creates it and issues node certificates that the
/// agent and scheduler accept, ECDSA P-256 with serverAuth and clientAuth. The <c>certs</c> command, the installer and
/// the test harness use it; any other CA whose certificates chain the same way works as well.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public const string CertificateFileName = "ca.crt";
    public const string KeyFileName = "ca.key";
    public const string DefaultName = "PeerAgent cluster CA";

    private readonly ECDsa _key;

    private CertificateAuthority(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    public string KeyPem => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>A new self-signed CA that may sign node certificates only (path length 0).</summary>
    public static CertificateAuthority Create(string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(new X500DistinguishedName("CN=" + EscapeName(name)), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
            using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), notBefore, notAfter, NewSerial());
            return new CertificateAuthority(certificate.CopyWithPrivateKey(key), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads a CA from its PEM certificate and unencrypted PEM ECDSA key.</summary>
    /// <exception cref="CryptographicException">The PEM does not parse or is not a CA.</exception>
    /// <exception cref="ArgumentException">The key is missing or does not match the certificate.</exception>
    public static CertificateAuthority Load(string certificatePem, string keyPem)
    {
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            throw new CryptographicException($"the certificate {certificate.Subject} is not a CA (no basicConstraints CA:TRUE)");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(keyPem);
            return new CertificateAuthority(certificate.CopyWithPrivateKey(key), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads <c>ca.crt</c> and <c>ca.key</c> from <paramref name="directory"/>.</summary>
    public static CertificateAuthority LoadFrom(string directory) =>
        Load(File.ReadAllText(Path.Combine(directory, CertificateFileName)), File.ReadAllText(Path.Combine(directory, KeyFileName)));

    /// <summary>
    /// A node (or scheduler) certificate signed by this CA: subject CN=<paramref name="name"/>, the given IP and DNS
    /// subject alternative names, usable as TLS server and client certificate.
    /// </summary>
    /// <exception cref="ArgumentException">The validity falls outside the CA's own.</exception>
    public IssuedCertificate Issue(string name, IEnumerable<IPAddress> addresses, IEnumerable<string> dnsNames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(dnsNames);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(new X500DistinguishedName("CN=" + EscapeName(name)), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [PeerCertificateVerifier.ServerAuthentication, PeerCertificateVerifier.ClientAuthentication], critical: false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            var san = new SubjectAlternativeNameBuilder();
            var any = false;
            foreach (var address in addresses)
            {
                san.AddIpAddress(address);
                any = true;
            }

            foreach (var dns in dnsNames)
            {
                san.AddDnsName(dns);
                any = true;
            }

            if (any)
            {
                request.CertificateExtensions.Add(san.Build());
            }

            using var signed = request.Create(Certificate, notBefore, notAfter, NewSerial());
            return new IssuedCertificate(signed.CopyWithPrivateKey(key), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <c>ca.crt</c> (0644) and <c>ca.key</c> (0600) into <paramref name="directory"/>, each atomically.
    /// </summary>
    /// <exception cref="CertificateFilesExistException">A file exists and <paramref name="force"/> is false; nothing was written.</exception>
    public IReadOnlyList<string> WriteTo(string directory, bool force)
    {
        var certificate = Path.Combine(directory, CertificateFileName);
        var key = Path.Combine(directory, KeyFileName);
        PemFiles.RefuseExisting(force, certificate, key);
        Directory.CreateDirectory(directory);
        PemFiles.Write(key, KeyPem, secret: true);
        PemFiles.Write(certificate, CertificatePem, secret: false);
        return [certificate, key];
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);

        // A positive DER integer without a leading zero byte.
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    private static string EscapeName(string name) =>
        name.IndexOfAny([',', '+', '"', '\\', '<', '>', ';', '=']) >= 0 ? "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : name;
}
