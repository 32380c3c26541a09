using Google.Protobuf;
using Grpc.Core;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Peers;

/// <summary>
/// Binds <see cref="PeerService"/> in place of the generated <c>Peer.BindService</c> (named by the attribute on the
/// service), with request marshallers of our own: a request that is not valid protobuf is answered INVALID_ARGUMENT.
/// </summary>
/// <remarks>
/// grpc-dotnet decodes the request before the service or any interceptor runs, and answers a decoding exception with
/// UNKNOWN and an error-level log ("Error when executing service method"): any peer could fill our logs with errors
/// that are its fault. An <see cref="RpcException"/> from the marshaller is answered with its status and logged at
/// Information. Unknown fields are dropped while parsing (the service never writes a request back), so a request
/// of many unknown fields does not turn into as many objects. Responses are serialized as the generated code does,
/// straight into the response pipe.
/// </remarks>
internal static class PeerServiceBinding
{
    internal static readonly Method<SyncPiecesRequest, PieceAnnouncement> SyncPieces = new(
        MethodType.ServerStreaming,
        Peer.Descriptor.FullName,
        nameof(PeerService.SyncPieces),
        RequestMarshaller(SyncPiecesRequest.Parser),
        ResponseMarshaller<PieceAnnouncement>());

    internal static readonly Method<DownloadPieceRequest, PieceChunk> DownloadPiece = new(
        MethodType.ServerStreaming,
        Peer.Descriptor.FullName,
        nameof(PeerService.DownloadPiece),
        RequestMarshaller(DownloadPieceRequest.Parser),
        ResponseMarshaller<PieceChunk>());

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

    private static Marshaller<T> RequestMarshaller<T>(MessageParser<T> parser)
        where T : IMessage<T>
    {
        var lenient = parser.WithDiscardUnknownFields(true);
        var name = typeof(T).Name;
        return Marshallers.Create<T>(
            static (_, _) => throw new NotSupportedException("the peer service never sends a request"),
            context =>
            {
                try
                {
                    return lenient.ParseFrom(context.PayloadAsReadOnlySequence());
                }
                catch (InvalidProtocolBufferException)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request is not a valid {name}"));
                }
            });
    }

    private static Marshaller<T> ResponseMarshaller<T>()
        where T : IBufferMessage
    {
        return Marshallers.Create<T>(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            static _ => throw new NotSupportedException("the peer service never reads a response"));
    }
}
