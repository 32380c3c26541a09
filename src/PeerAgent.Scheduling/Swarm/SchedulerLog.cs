using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Scheduling.Swarm;

internal static partial class SchedulerLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Host {HostId} registered on node {NodeName} (zone {Zone}, region {Region}) with {UploadCapacity} upload slots")]
    public static partial void HostRegistered(ILogger logger, string hostId, string nodeName, string zone, string region, int uploadCapacity);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Host {HostId} dropped after {Silence} without a heartbeat; {PeerCount} peers left their tasks")]
    public static partial void HostExpired(ILogger logger, string hostId, TimeSpan silence, int peerCount);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Peer {HostId} announced task {Task} with {PresentPieces} of {PieceCount} pieces")]
    public static partial void PeerAnnounced(ILogger logger, Digest task, string hostId, int presentPieces, int pieceCount);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Peer {HostId} announced task {Task} with length {Length}, but the task is {TaskLength} bytes; refused")]
    public static partial void LengthMismatch(ILogger logger, Digest task, string hostId, long length, long taskLength);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Peer {HostId} may fetch pieces [{Start}, {End}) of task {Task} from the origin (slot {Slot})")]
    public static partial void BackToSourceGranted(ILogger logger, Digest task, string hostId, int slot, int start, int end);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Back-to-source peer {HostId} of task {Task} made no progress for {Stall}; slot {Slot} goes to the next asker")]
    public static partial void BackToSourceStalled(ILogger logger, Digest task, string hostId, int slot, TimeSpan stall);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Back-to-source peer {HostId} of task {Task} is gone; slot {Slot} goes to the next asker")]
    public static partial void BackToSourceHolderGone(ILogger logger, Digest task, string hostId, int slot);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Debug, Message = "Peer {HostId} of task {Task} waits: no parent has a useful piece and the back-to-source quota is full")]
    public static partial void PeerWaits(ILogger logger, Digest task, string hostId);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Peer {HostId} of task {Task} dropped parent {ParentHostId} after {Failures} failures")]
    public static partial void ParentDropped(ILogger logger, Digest task, string hostId, string parentHostId, int failures);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "Peer {HostId} finished task {Task}")]
    public static partial void DownloadFinished(ILogger logger, Digest task, string hostId);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Peer {HostId} failed task {Task}; it leaves the swarm")]
    public static partial void DownloadFailed(ILogger logger, Digest task, string hostId);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Debug, Message = "Task {Task} has no peers left and is forgotten")]
    public static partial void TaskForgotten(ILogger logger, Digest task);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Peer {HostId} published {Count} piece digests for task {Task}, which has {PieceCount} pieces; ignored")]
    public static partial void PieceDigestCountMismatch(ILogger logger, Digest task, string hostId, int count, int pieceCount);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Peer {HostId} got a piece of task {Task} from {ParentHostId} that did not verify; {ParentHostId} leaves the task")]
    public static partial void ParentCorrupt(ILogger logger, Digest task, string hostId, string parentHostId);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Peer {HostId} leads zone {Zone} in task {Task}: it may take parents outside the zone, or the origin")]
    public static partial void ZoneLeader(ILogger logger, Digest task, string hostId, string zone);
}
