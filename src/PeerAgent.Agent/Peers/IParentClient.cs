using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Peers;

/// <summary>Another agent as a source of pieces: what it holds, and one piece at a time, verified.</summary>
/// <remarks>
/// Failures keep the wire's vocabulary: an <see cref="Grpc.Core.RpcException"/> with NOT_FOUND, RESOURCE_EXHAUSTED and
/// so on, or <see cref="PeerPieceException"/> when the parent itself is at fault (wrong bytes or framing).
/// </remarks>
internal interface IParentClient
{
    /// <summary>What the parent holds of <paramref name="task"/>, then each piece it completes; ends when it will announce no more.</summary>
    IAsyncEnumerable<PieceAnnouncement> SyncPiecesAsync(Digest task, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Downloads piece <paramref name="index"/> into <paramref name="target"/> and marks it present only if it verifies.
    /// <paramref name="received"/>, when given, is called with each chunk's byte count once it is written, so the
    /// caller can tell a slow but moving transfer from one that stopped.
    /// </summary>
    Task<Digest> DownloadPieceAsync(PartialBlob target, int index, Digest? expected, Action<int>? received, CancellationToken cancellationToken);
}

/// <summary>The client for each parent address, shared by every download.</summary>
internal interface IParentClients
{
    IParentClient Get(string address);
}
