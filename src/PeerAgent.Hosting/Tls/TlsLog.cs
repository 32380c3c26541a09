using Microsoft.Extensions.Logging;

namespace PeerAgent.Hosting.Tls;

/// <summary>Transport security log events (6xxx). Certificates are named by serial, subject and expiry; keys never appear.</summary>
internal static partial class TlsLog
{
    [LoggerMessage(6001, LogLevel.Warning, "Tls:AllowInsecure=true: the peer and scheduler ports and their clients speak plaintext h2c; anyone who reaches them can read every blob this agent holds by digest and talk to the scheduler")]
    public static partial void Insecure(ILogger logger);

    [LoggerMessage(6002, LogLevel.Information, "Mutual TLS on: certificate {Certificate}; peers must chain to one of the {Authorities} certificates of {CaFile}")]
    public static partial void Enabled(ILogger logger, string certificate, int authorities, string caFile);

    [LoggerMessage(6003, LogLevel.Information, "TLS files changed: new handshakes use certificate {Certificate}; connections already open keep theirs")]
    public static partial void Reloaded(ILogger logger, string certificate);

    [LoggerMessage(6004, LogLevel.Warning, "TLS files changed but do not load ({Errors}); still using certificate {Certificate} and retrying every {Interval}")]
    public static partial void ReloadFailed(ILogger logger, string errors, string certificate, TimeSpan interval);

    [LoggerMessage(6005, LogLevel.Debug, "Refused the TLS certificate of {Direction} connection: {Reason} ({Detail})")]
    public static partial void Refused(ILogger logger, string direction, string reason, string detail);
}
