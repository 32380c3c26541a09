using Prometheus;

namespace PeerAgent.Hosting.Tls;

/// <summary>Transport security metrics, shared by the agent and the scheduler. No peer address labels.</summary>
internal static class TlsMetrics
{
    /// <summary>direction: inbound (a client of our listener) | outbound (a server we dialled); reason: see <see cref="TlsRefusal"/>.</summary>
    public static readonly Counter HandshakesRefused = Metrics.CreateCounter(
        "peeragent_tls_handshakes_refused_total",
        "TLS handshakes refused because of the peer's certificate (none, another CA, expired, wrong usage).",
        "direction", "reason");

    /// <summary>result: loaded | failed.</summary>
    public static readonly Counter Reloads = Metrics.CreateCounter(
        "peeragent_tls_reloads_total", "Changes of the TLS files seen, by whether the new files loaded.", "result");

    public static readonly Gauge CertificateExpiry = Metrics.CreateGauge(
        "peeragent_tls_certificate_expiry_timestamp_seconds", "When the certificate new handshakes use expires (Unix time).");

    public static readonly Counter.Child ReloadsLoaded = Reloads.WithLabels("loaded");
    public static readonly Counter.Child ReloadsFailed = Reloads.WithLabels("failed");

    public static string Label(TlsRefusal refusal) => refusal switch
    {
        TlsRefusal.NoCertificate => "no_certificate",
        TlsRefusal.Untrusted => "untrusted",
        TlsRefusal.Expired => "expired",
        TlsRefusal.WrongUsage => "wrong_usage",
        _ => "none",
    };
}
