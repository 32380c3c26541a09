using Microsoft.Extensions.Configuration;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// Mutual TLS on the peer and scheduler listeners and on the clients that dial them (section <c>Tls</c>). On by
/// default: with no files configured the process refuses to start unless <see cref="AllowInsecure"/> is true.
/// </summary>
public sealed class TlsOptions
{
    public const string Section = "Tls";
    public const string CaFileKey = Section + ":" + nameof(CaFile);
    public const string CertFileKey = Section + ":" + nameof(CertFile);
    public const string KeyFileKey = Section + ":" + nameof(KeyFile);
    public const string AllowInsecureKey = Section + ":" + nameof(AllowInsecure);
    public const string ReloadIntervalKey = Section + ":" + nameof(ReloadInterval);

    /// <summary>PEM bundle of the cluster CA: peers' certificates must chain to one of these, and nothing else.</summary>
    public string CaFile { get; set; } = "";

    /// <summary>PEM certificate of this process (intermediates may follow it), presented as server and as client.</summary>
    public string CertFile { get; set; } = "";

    /// <summary>PEM private key of <see cref="CertFile"/>, unencrypted (PKCS#8, SEC1 or PKCS#1).</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>Plaintext h2c instead of mTLS: anyone who reaches the port can read any blob by digest.</summary>
    public bool AllowInsecure { get; set; }

    /// <summary>How often the three files are read again; a change is used by new handshakes.</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => !AllowInsecure;

    /// <summary>The scheme of every peer and scheduler URL in this mode: <c>https</c>, or <c>http</c> when insecure.</summary>
    public string Scheme => Enabled ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;

    /// <summary>
    /// Every problem at once, each naming its key: nothing configured, half-configured, files missing or
    /// unreadable, a key that does not match its certificate, a certificate expired at <paramref name="now"/>,
    /// not issued by the configured CA or not usable for TLS server and client authentication.
    /// </summary>
    public IReadOnlyList<string> Validate(DateTimeOffset now)
    {
        var errors = new List<string>();
        if (ReloadInterval <= TimeSpan.Zero)
        {
            errors.Add($"{ReloadIntervalKey} must be positive, not {ReloadInterval}.");
        }

        var set = new[] { (CaFileKey, CaFile), (CertFileKey, CertFile), (KeyFileKey, KeyFile) };
        var configured = set.Count(f => !string.IsNullOrWhiteSpace(f.Item2));
        if (AllowInsecure)
        {
            if (configured > 0)
            {
                errors.Add($"{AllowInsecureKey}=true turns TLS off, but {string.Join(", ", set.Where(f => !string.IsNullOrWhiteSpace(f.Item2)).Select(f => f.Item1))} "
                    + "are set too; remove them for plaintext h2c, or set AllowInsecure=false for mutual TLS.");
            }

            return errors;
        }

        if (configured == 0)
        {
            errors.Add($"{CaFileKey}, {CertFileKey} and {KeyFileKey} are not set: the peer and scheduler ports need mutual TLS. "
                + "Create a cluster CA with `PeerAgent.Agent certs ca --out DIR`, a certificate per node with "
                + "`PeerAgent.Agent certs issue --ca DIR --name NODE --out NODEDIR`, then point the three keys at "
                + "NODEDIR/ca.crt, NODEDIR/tls.crt and NODEDIR/tls.key (docs/security.md); or set "
                + $"{AllowInsecureKey}=true for plaintext h2c on a network you trust.");
            return errors;
        }

        if (configured < set.Length)
        {
            foreach (var (key, value) in set.Where(f => string.IsNullOrWhiteSpace(f.Item2)))
            {
                errors.Add($"{key} is not set; mutual TLS needs all of {CaFileKey}, {CertFileKey} and {KeyFileKey}.");
            }

            return errors;
        }

        using var material = TlsMaterial.TryLoad(this, now, errors);
        return errors;
    }

    /// <summary>
    /// The error when <paramref name="url"/> (at <paramref name="key"/>) uses the wrong scheme for this mode, e.g.
    /// <c>http://</c> while TLS is on; null when it agrees, is empty, or is no http(s) URL (its own check says so).
    /// </summary>
    public string? CheckScheme(string key, string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        var scheme = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? Uri.UriSchemeHttps
            : url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Uri.UriSchemeHttp
            : null;
        if (scheme is null || scheme == Scheme)
        {
            return null;
        }

        return Enabled
            ? $"{key} '{url}' must be https:// because mutual TLS is on (set {AllowInsecureKey}=true for plaintext h2c)."
            : $"{key} '{url}' must be http:// because {AllowInsecureKey}=true turns TLS off.";
    }

    /// <summary><see cref="CheckScheme"/> over several keys.</summary>
    public IReadOnlyList<string> CheckSchemes(params (string Key, string? Url)[] urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var errors = new List<string>();
        foreach (var (key, url) in urls)
        {
            if (CheckScheme(key, url) is { } error)
            {
                errors.Add(error);
            }
        }

        return errors;
    }
}
