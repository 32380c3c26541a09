using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Scheduling.Service;

internal static partial class SchedulerServiceLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Announce stream opened by {HostId} for task {Task} (complete: {Complete})")]
    public static partial void StreamOpened(ILogger logger, Digest task, string hostId, bool complete);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "Announce stream of {HostId} for task {Task} closed ({Ending}); the peer {Fate}")]
    public static partial void StreamClosed(ILogger logger, Digest task, string hostId, string ending, string fate);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Debug, Message = "Could not push a decision to {HostId} for task {Task}; its stream is closing")]
    public static partial void PushFailed(ILogger logger, Digest task, string hostId, Exception exception);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Sweep dropped {Count} silent hosts: {HostIds}")]
    public static partial void HostsExpired(ILogger logger, int count, string hostIds);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Debug, Message = "Sweep pushes new decisions to {Orphaned} orphaned and {Revoked} revoked peers ({Open} with an open stream)")]
    public static partial void Pushing(ILogger logger, int orphaned, int revoked, int open);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "Sweep failed; the next tick tries again")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "Peer {HostId} finished task {Task} with {Count} piece digests, but the task has {PieceCount} pieces; not published")]
    public static partial void PieceDigestsIgnored(ILogger logger, Digest task, string hostId, int count, int pieceCount);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Debug, Message = "Peer {HostId} of task {Task} was unknown (dropped or scheduler restarted); announced it again")]
    public static partial void Reannounced(ILogger logger, Digest task, string hostId);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Information, Message = "Peer {HostId} failed task {Task}: {Reason}")]
    public static partial void DownloadFailed(ILogger logger, Digest task, string hostId, string reason);
}
