using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Peers;

/// <summary>Peer service and client log events (4xxx). Digests and piece indexes only; never credentials.</summary>
internal static partial class PeerLog
{
    [LoggerMessage(4001, LogLevel.Debug, "Upload of piece {PieceIndex} of {Digest} refused: all {Limit} upload slots busy")]
    public static partial void UploadRefused(ILogger logger, string digest, int pieceIndex, int limit);

    [LoggerMessage(4002, LogLevel.Warning, "Upload of piece {PieceIndex} of {Digest} failed: {Reason}")]
    public static partial void UploadFailed(ILogger logger, string digest, int pieceIndex, string reason);

    [LoggerMessage(4003, LogLevel.Warning, "Piece {PieceIndex} of {Digest} from peer {Peer} did not verify; discarded: {Reason}")]
    public static partial void PieceDigestMismatch(ILogger logger, string peer, string digest, int pieceIndex, string reason);
}
