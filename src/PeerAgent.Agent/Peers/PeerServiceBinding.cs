using Grpc.Core;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Peers;

/// <summary>
/// Binds <see cref="PeerService"/> in place of the generated <c>Peer.BindService</c> (named by the attribute on the
/// service), with request marshallers of our own: a request that is not valid protobuf is answered INVALID_ARGUMENT.
/// </summary>
/// <remarks>See <see cref="StrictMarshallers"/> for why: any peer could otherwise fill our logs with errors that are its fault.</remarks>
internal static class PeerServiceBinding
{
    internal static readonly Method<SyncPiecesRequest, PieceAnnouncement> SyncPieces =
        StrictMarshallers.Method<SyncPiecesRequest, PieceAnnouncement>(
            MethodType.ServerStreaming, Peer.Descriptor.FullName, nameof(PeerService.SyncPieces), SyncPiecesRequest.Parser);

    internal static readonly Method<DownloadPieceRequest, PieceChunk> DownloadPiece =
        StrictMarshallers.Method<DownloadPieceRequest, PieceChunk>(
            MethodType.ServerStreaming, Peer.Descriptor.FullName, nameof(PeerService.DownloadPiece), DownloadPieceRequest.Parser);

    /// <summary>Called by grpc-dotnet through <see cref="BindServiceMethodAttribute"/>; it passes no instance.</summary>
    /// <remarks>
    /// The second parameter is the generated base class, as in the generated binder: grpc-dotnet takes its type as
    /// the one whose methods the service overrides (a parameter of type <see cref="PeerService"/> fails to bind).
    /// </remarks>
    public static void BindService(ServiceBinderBase binder, Peer.PeerBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(SyncPieces, service is null ? null : service.SyncPieces);
        binder.AddMethod(DownloadPiece, service is null ? null : service.DownloadPiece);
    }
}
