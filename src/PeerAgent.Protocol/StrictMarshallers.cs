using Google.Protobuf;
using Grpc.Core;

namespace PeerAgent.Protocol;

/// <summary>
/// Marshallers for the services' own bindings: a request that is not valid protobuf is the caller's fault and is
/// answered INVALID_ARGUMENT, where grpc-dotnet's generated binding answers UNKNOWN and logs an error for it.
/// </summary>
/// <remarks>
/// grpc-dotnet decodes a request before the service or any interceptor runs (for streams, when the service reads the
/// next message). An <see cref="RpcException"/> from the marshaller is answered with its status and logged at
/// Information. Unknown fields are dropped while parsing (a service never writes a request back), so a request of
/// many unknown fields does not turn into as many objects. Responses are serialized as the generated code does,
/// straight into the response pipe.
/// </remarks>
public static class StrictMarshallers
{
    /// <summary>Parses requests with <paramref name="parser"/>; invalid protobuf becomes INVALID_ARGUMENT.</summary>
    public static Marshaller<T> Request<T>(MessageParser<T> parser)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        var lenient = parser.WithDiscardUnknownFields(true);
        var name = typeof(T).Name;
        return Marshallers.Create<T>(
            static (_, _) => throw new NotSupportedException("a service never sends a request"),
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

    /// <summary>A service method with a strict <see cref="Request{T}"/> and a <see cref="Response{T}"/> marshaller.</summary>
    public static Method<TRequest, TResponse> Method<TRequest, TResponse>(MethodType type, string serviceName, string name, MessageParser<TRequest> parser)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IBufferMessage =>
        new(type, serviceName, name, Request(parser), Response<TResponse>());

    /// <summary>Writes responses straight into the response pipe.</summary>
    public static Marshaller<T> Response<T>()
        where T : IBufferMessage =>
        Marshallers.Create<T>(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            static _ => throw new NotSupportedException("a service never reads a response"));
}
