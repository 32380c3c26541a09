using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Observability;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// The Docker endpoint's serving certificates, picked by SNI: <c>&lt;domain&gt;.crt</c> and <c>&lt;domain&gt;.key</c> in
/// DockerMirror:CertificateDir, as the installer writes them. A domain's files are looked at again at most every
/// <see cref="RecheckInterval"/> during handshakes, so a renewed or late certificate is used without a restart.
/// </summary>
internal sealed class DockerCertificates
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public DockerCertificates(IOptions<DockerMirrorOptions> options, DistributionDomainMap domains, TimeProvider time, ILogger<DockerCertificates> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(domains);
        _directory = options.Value.CertificateDir;
        _time = time;
        _logger = logger;
        foreach (var domain in domains.Registries.Keys)
        {
            _entries[domain] = new Entry();
        }
    }

    public static string CertificatePath(string directory, string domain) => Path.Combine(directory, domain + ".crt");

    public static string KeyPath(string directory, string domain) => Path.Combine(directory, domain + ".key");

    /// <summary>
    /// Loads a domain's pair. False with <paramref name="error"/> null when neither file exists (the installer was not
    /// run for that registry), with an error when they exist but are unusable (one missing, unreadable, mismatched).
    /// </summary>
    public static bool TryLoad(string directory, string domain, [NotNullWhen(true)] out X509Certificate2? certificate, out string? error)
    {
        certificate = null;
        error = null;
        var certificatePath = CertificatePath(directory, domain);
        var keyPath = KeyPath(directory, domain);
        var hasCertificate = File.Exists(certificatePath);
        var hasKey = File.Exists(keyPath);
        if (!hasCertificate && !hasKey)
        {
            return false;
        }

        if (!hasCertificate || !hasKey)
        {
            error = $"{(hasCertificate ? keyPath : certificatePath)} is missing beside {(hasCertificate ? certificatePath : keyPath)}";
            return false;
        }

        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            if (!certificate.MatchesHostname(domain))
            {
                error = $"{certificatePath} is not a certificate for {domain}";
                certificate.Dispose();
                certificate = null;
                return false;
            }

            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"{certificatePath} with {keyPath} does not load: {ex.Message}";
            return false;
        }
    }

    /// <summary>The certificate for an SNI name; null (the handshake fails) for an unknown name or a domain without one.</summary>
    public X509Certificate2? Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName) || !_entries.TryGetValue(serverName.TrimEnd('.').ToLowerInvariant(), out var entry))
        {
            return null;
        }

        var domain = serverName.TrimEnd('.').ToLowerInvariant();
        lock (entry)
        {
            var now = _time.GetUtcNow();
            if (entry.CheckedAt is { } checkedAt && now - checkedAt < RecheckInterval)
            {
                return entry.Certificate;
            }

            entry.CheckedAt = now;
            var stamp = Stamp(domain);
            if (stamp == entry.Stamp)
            {
                return entry.Certificate;
            }

            if (TryLoad(_directory, domain, out var certificate, out var error))
            {
                // The previous certificate is left to the GC: a handshake in flight may still be using it.
                entry.Certificate = certificate;
                entry.Stamp = stamp;
                MirrorLog.DockerCertificateLoaded(_logger, domain, certificate.NotAfter.ToUniversalTime());
            }
            else
            {
                entry.Stamp = stamp;
                MirrorLog.DockerCertificateUnusable(_logger, domain, error ?? $"no {CertificatePath(_directory, domain)}");
            }

            return entry.Certificate;
        }
    }

    // The two files' contents, hashed: a change is seen even when a rewrite keeps the size and the time stamp.
    private string Stamp(string domain)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in new[] { CertificatePath(_directory, domain), KeyPath(_directory, domain) })
        {
            try
            {
                hash.AppendData(File.ReadAllBytes(path));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData("-"u8);
            }

            hash.AppendData("/"u8);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private sealed class Entry
    {
        public X509Certificate2? Certificate { get; set; }

        public string? Stamp { get; set; }

        public DateTimeOffset? CheckedAt { get; set; }
    }
}
