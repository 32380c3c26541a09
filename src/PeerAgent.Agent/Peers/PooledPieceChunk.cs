using System.Buffers;
using Grpc.Core;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Peers;

/// <summary>
/// A <see cref="PieceChunk"/> as the piece client reads it: the data is copied once, from the HTTP/2 frames into a
/// pooled buffer, instead of into a fresh <c>byte[]</c> per message (a large-object-heap allocation for 1 MiB chunks).
/// Return it with <see cref="Dispose"/> once its bytes are written.
/// </summary>
internal sealed class PooledPieceChunk : IDisposable
{
    private byte[]? _buffer;

    private PooledPieceChunk(PieceHeader? header, byte[]? buffer, int length)
    {
        Header = header;
        _buffer = buffer;
        Length = length;
    }

    /// <summary>Only in the first message of a piece.</summary>
    public PieceHeader? Header { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Data => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Length);

    /// <summary>The <c>DownloadPiece</c> method with this decoder for its responses (requests stay protobuf messages).</summary>
    public static Method<DownloadPieceRequest, PooledPieceChunk> DownloadPieceMethod { get; } = new(
        MethodType.ServerStreaming,
        Peer.Descriptor.FullName,
        "DownloadPiece",
        Marshallers.Create(request => Google.Protobuf.MessageExtensions.ToByteArray(request), DownloadPieceRequest.Parser.ParseFrom),
        Marshallers.Create<PooledPieceChunk>((_, _) => throw new NotSupportedException("the client never sends chunks"), Decode));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the protobuf wire format of <see cref="PieceChunk"/>: field 1 (header, a message) and field 2 (data,
    /// bytes); unknown fields are skipped as protobuf readers do.
    /// </summary>
    internal static PooledPieceChunk Decode(DeserializationContext context)
    {
        var payload = context.PayloadAsReadOnlySequence();
        var reader = new SequenceReader<byte>(payload);
        PieceHeader? header = null;
        byte[]? buffer = null;
        var length = 0;
        try
        {
            while (!reader.End)
            {
                var tag = ReadVarint(ref reader);
                var field = tag >> 3;
                switch ((int)(tag & 7))
                {
                    case 0:
                        ReadVarint(ref reader);
                        break;
                    case 1:
                        Skip(ref reader, 8);
                        break;
                    case 5:
                        Skip(ref reader, 4);
                        break;
                    case 2:
                        var size = ReadVarint(ref reader);
                        if (size > (ulong)reader.Remaining)
                        {
                            throw new InvalidDataException($"a PieceChunk field of {size} bytes runs past the {payload.Length}-byte message");
                        }

                        var slice = payload.Slice(reader.Position, (long)size);
                        if (field == 1)
                        {
                            header = PieceHeader.Parser.ParseFrom(slice);
                        }
                        else if (field == 2)
                        {
                            if (buffer is not null)
                            {
                                ArrayPool<byte>.Shared.Return(buffer);
                            }

                            length = (int)size;
                            buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                            slice.CopyTo(buffer);
                        }

                        reader.Advance((long)size);
                        break;
                    default:
                        throw new InvalidDataException($"PieceChunk field {field} has wire type {tag & 7}, which protobuf does not define");
                }
            }

            return new PooledPieceChunk(header, buffer, length);
        }
        catch
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            throw;
        }
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw new InvalidDataException("a PieceChunk message ends inside a varint");
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("a PieceChunk varint is longer than 10 bytes");
    }

    private static void Skip(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count)
        {
            throw new InvalidDataException("a PieceChunk message ends inside a fixed-size field");
        }

        reader.Advance(count);
    }
}
