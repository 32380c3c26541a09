using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Swarm;

/// <summary>Swarm downloader and scheduler client log events (5xxx). Digests, hosts and piece indexes; never credentials.</summary>
internal static partial class SwarmLog
{
    [LoggerMessage(5001, LogLevel.Information, "Scheduler {Address} answers (scheduler id {SchedulerId})")]
    public static partial void SchedulerConnected(ILogger logger, string address, string schedulerId);

    [LoggerMessage(5002, LogLevel.Warning, "Scheduler {Address} unavailable ({Error}: {Reason}); blobs come from the origin for the next {RetryAfter}")]
    public static partial void SchedulerUnavailable(ILogger logger, string address, string error, string reason, TimeSpan retryAfter);

    [LoggerMessage(5003, LogLevel.Information, "Announce stream of {Digest} broke ({Reason}); moving it to the next scheduler replica if one answers, else carrying on without the scheduler")]
    public static partial void AnnounceStreamBroken(ILogger logger, string digest, string reason);

    [LoggerMessage(5004, LogLevel.Debug, "{Digest}: decision {Decision}")]
    public static partial void Decision(ILogger logger, string digest, string decision);

    [LoggerMessage(5005, LogLevel.Warning, "{Digest}: parent {Parent} dropped: {Reason}")]
    public static partial void ParentDropped(ILogger logger, string digest, string parent, string reason);

    [LoggerMessage(5006, LogLevel.Warning, "{Digest}: no piece from peers for {Stall}; fetching the remaining {Missing} pieces from the origin")]
    public static partial void FallingBackToOrigin(ILogger logger, string digest, TimeSpan stall, int missing);

    [LoggerMessage(5007, LogLevel.Information, "{Digest}: complete, {FromPeers} bytes from peers, {FromOrigin} bytes from the origin")]
    public static partial void Completed(ILogger logger, string digest, long fromPeers, long fromOrigin);

    [LoggerMessage(5008, LogLevel.Warning, "{Digest}: the blob assembled from peers did not verify; it is discarded and peers are skipped for it for {Duration}")]
    public static partial void SwarmBlobMismatch(ILogger logger, string digest, TimeSpan duration);

    [LoggerMessage(5009, LogLevel.Debug, "{Digest}: piece {PieceIndex} from parent {Parent} failed: {Reason}")]
    public static partial void PieceFromParentFailed(ILogger logger, string digest, int pieceIndex, string parent, string reason);

    [LoggerMessage(5010, LogLevel.Information, "{Digest}: back-to-source revoked by the scheduler; switching to peers")]
    public static partial void BackToSourceRevoked(ILogger logger, string digest);

    [LoggerMessage(5011, LogLevel.Information, "Announced {Count} stored blobs as seeds again, to the scheduler replicas that own them now (a replica restarted, came back or went away)")]
    public static partial void SeedsReannounced(ILogger logger, int count);

    [LoggerMessage(5012, LogLevel.Information, "{Digest}: Announce stream moved from scheduler {From} to {To} in {Elapsed}")]
    public static partial void SchedulerFailover(ILogger logger, string digest, string from, string to, TimeSpan elapsed);

    [LoggerMessage(5013, LogLevel.Information, "Scheduler replicas now {Count}: {Replicas}; each blob goes to its owner among them")]
    public static partial void ShardsChanged(ILogger logger, int count, string replicas);
}
