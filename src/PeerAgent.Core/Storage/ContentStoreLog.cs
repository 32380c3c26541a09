using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

internal static partial class ContentStoreLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Content store at {RootPath} recovered: {BlobCount} blobs, {PartialCount} partial blobs, {UsedBytes} of {QuotaBytes} bytes used")]
    public static partial void Recovered(ILogger logger, string rootPath, int blobCount, int partialCount, long usedBytes, long quotaBytes);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Recovery discarded partial blob {Name}: {Reason}")]
    public static partial void RecoveryDiscardedPartial(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Recovery found piece {PieceIndex} of {Digest} does not match its recorded sha256; it will be fetched again")]
    public static partial void RecoveryPieceFailedVerification(ILogger logger, Digest digest, int pieceIndex);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Recovery deleted {Path} from the blob directory: {Reason}")]
    public static partial void RecoveryDeletedInvalidEntry(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Evicted {Kind} {Digest} ({Length} bytes) to make room for {Needed} bytes")]
    public static partial void Evicted(ILogger logger, string kind, Digest digest, long length, long needed);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Partial blob {Expected} hashed to {Actual} at commit; discarded")]
    public static partial void CommitDigestMismatch(ILogger logger, Digest expected, Digest actual);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Resumed partial blob {Digest} with {PresentPieces} of {PieceCount} pieces present")]
    public static partial void ResumedPartial(ILogger logger, Digest digest, int presentPieces, int pieceCount);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Could not resume partial blob {Digest}, starting it over: {Reason}")]
    public static partial void ResumeFailed(ILogger logger, Digest digest, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Could not delete {Path}")]
    public static partial void DeleteFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Content store uses {UsedBytes} bytes, over its quota of {QuotaBytes}; idle blobs will be evicted as space is needed")]
    public static partial void OverQuotaAfterRecovery(ILogger logger, long usedBytes, long quotaBytes);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Committed blob {Digest} is missing from disk; dropped from the index")]
    public static partial void CommittedBlobMissing(ILogger logger, Digest digest);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Hashing ahead of commit for {Digest} stopped; commit will finish it")]
    public static partial void CatchUpHashingStopped(ILogger logger, Digest digest, Exception exception);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Could not persist piece metadata of {Digest} on close; pieces since the last save will be fetched again")]
    public static partial void PersistOnCloseFailed(ILogger logger, Digest digest, Exception exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Content store cannot fit {Digest} ({NeededBytes} bytes) within its quota of {QuotaBytes}: {UsedBytes} bytes in use, {EvictableBytes} of them evictable (the rest are open partial blobs and blobs being read)")]
    public static partial void NoRoom(ILogger logger, Digest digest, long neededBytes, long usedBytes, long evictableBytes, long quotaBytes);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Recovery deleted blob metadata {Path}: {Reason}")]
    public static partial void RecoveryDeletedBlobMeta(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "Could not write the metadata of {Digest}; the blob is kept without it")]
    public static partial void BlobMetaWriteFailed(ILogger logger, Digest digest, Exception exception);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "Metadata of {Digest} is unusable ({Reason}); its piece digests will be computed again")]
    public static partial void BlobMetaUnusable(ILogger logger, Digest digest, string reason);
}
