using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Observability;

/// <summary>Upstream registry log events (1xxx). Never carries credentials.</summary>
internal static partial class UpstreamLog
{
    [LoggerMessage(1001, LogLevel.Warning, "Upstream {Host} unreachable: {ErrorType}: {Reason}")]
    public static partial void Unreachable(ILogger logger, string host, string errorType, string reason);

    [LoggerMessage(1002, LogLevel.Warning, "Token endpoint of {Host} refused the node credentials with {Status}")]
    public static partial void TokenRefused(ILogger logger, string host, int status);

    [LoggerMessage(1003, LogLevel.Warning, "Token request for {Host} failed: {Reason}")]
    public static partial void TokenFailed(ILogger logger, string host, string reason);
}
