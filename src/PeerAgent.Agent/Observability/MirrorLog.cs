using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Observability;

/// <summary>Mirror log events (2xxx). Digests and repository names only; never credentials.</summary>
internal static partial class MirrorLog
{
    [LoggerMessage(2001, LogLevel.Error, "Blob {Digest} from upstream did not verify; response aborted and nothing stored: {Reason}")]
    public static partial void BlobDigestMismatch(ILogger logger, string digest, string reason);

    [LoggerMessage(2002, LogLevel.Warning, "Transfer of blob {Digest} failed: {ErrorType}: {Reason}")]
    public static partial void BlobTransferFailed(ILogger logger, string digest, string errorType, string reason);

    [LoggerMessage(2003, LogLevel.Information, "Resuming blob {Digest} at offset {Offset} (attempt {Attempt}) after: {Reason}")]
    public static partial void ResumingBlob(ILogger logger, string digest, long offset, int attempt, string reason);

    [LoggerMessage(2004, LogLevel.Warning, "Store has no room for blob {Digest}; streaming it through uncached: {Reason}")]
    public static partial void StoreFull(ILogger logger, string digest, string reason);

    [LoggerMessage(2005, LogLevel.Error, "Manifest {Reference} of {Repository} did not match its digest {Digest}")]
    public static partial void ManifestDigestMismatch(ILogger logger, string repository, string reference, string digest);

    [LoggerMessage(2006, LogLevel.Warning, "Upstream unavailable for {Repository}: {Reason}")]
    public static partial void UpstreamUnavailable(ILogger logger, string repository, string reason);

    [LoggerMessage(2007, LogLevel.Error, "Mirror request failed: {Method} {Kind} {Repository}")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string kind, string repository);

    [LoggerMessage(2008, LogLevel.Warning, "Could not cache manifest {Digest}: {Reason}")]
    public static partial void ManifestCacheFailed(ILogger logger, string digest, string reason);

    [LoggerMessage(2009, LogLevel.Error, "Pass-through blob {Digest} did not verify; response aborted: {Reason}")]
    public static partial void PassThroughDigestMismatch(ILogger logger, string digest, string reason);

    [LoggerMessage(2010, LogLevel.Information, "Docker endpoint: serving certificate for {Domain} loaded, valid until {NotAfter:u}")]
    public static partial void DockerCertificateLoaded(ILogger logger, string domain, DateTime notAfter);

    [LoggerMessage(2011, LogLevel.Warning, "Docker endpoint: no usable certificate for {Domain}, handshakes for it fail until there is one: {Reason}")]
    public static partial void DockerCertificateUnusable(ILogger logger, string domain, string reason);

    [LoggerMessage(2012, LogLevel.Information, "Docker endpoint on {Address}:{Port} serves {Domains}")]
    public static partial void DockerEndpointServing(ILogger logger, string address, int port, string domains);
}
