using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using PeerAgent.Agent.Peers;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Peers;

public sealed class PooledPieceChunkTests
{
    [Fact]
    public void Decode_HeaderAndData_MatchTheProtobufMessage_EvenSplitAcrossSegments()
    {
        var data = TestContent.Random(300_000);
        var message = new PieceChunk
        {
            Header = new PieceHeader { ContentLength = 9_000_000, PieceIndex = 2, PieceOffset = 8_388_608, PieceLength = 610_000, PieceSha256 = ByteString.CopyFrom(new byte[32]) },
            Data = ByteString.CopyFrom(data),
        };

        using var chunk = PooledPieceChunk.Decode(new Payload(message.ToByteArray(), segmentBytes: 4096));

        chunk.Header.Should().Be(message.Header);
        chunk.Data.ToArray().Should().Equal(data);
    }

    [Fact]
    public void Decode_UnknownFieldsOfEveryWireType_AreSkipped()
    {
        var data = TestContent.Random(1000);
        var bytes = new PieceChunk { Data = ByteString.CopyFrom(data) }.ToByteArray();
        using var extra = new MemoryStream();
        var output = new CodedOutputStream(extra);
        output.WriteTag(7, WireFormat.WireType.Varint);
        output.WriteUInt64(300);
        output.WriteTag(8, WireFormat.WireType.Fixed64);
        output.WriteFixed64(1);
        output.WriteTag(9, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("future"));
        output.WriteTag(10, WireFormat.WireType.Fixed32);
        output.WriteFixed32(1);
        output.Flush();

        using var chunk = PooledPieceChunk.Decode(new Payload([.. extra.ToArray(), .. bytes], segmentBytes: 7));

        chunk.Header.Should().BeNull();
        chunk.Data.ToArray().Should().Equal(data);
    }

    [Fact]
    public void Decode_DataLongerThanTheMessage_IsRejected()
    {
        var bytes = new PieceChunk { Data = ByteString.CopyFrom(TestContent.Random(100)) }.ToByteArray();

        var act = () => PooledPieceChunk.Decode(new Payload(bytes[..^10], segmentBytes: 64));

        act.Should().Throw<InvalidDataException>();
    }

    /// <summary>A gRPC payload as a sequence of small segments, as HTTP/2 frames deliver it.</summary>
    private sealed class Payload(byte[] bytes, int segmentBytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => bytes.ToArray();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence()
        {
            Segment? first = null;
            Segment? last = null;
            for (var offset = 0; offset < bytes.Length; offset += segmentBytes)
            {
                var memory = bytes.AsMemory(offset, Math.Min(segmentBytes, bytes.Length - offset));
                last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
            }

            return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
        }

        private sealed class Segment : ReadOnlySequenceSegment<byte>
        {
            public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
            {
                Memory = memory;
                RunningIndex = runningIndex;
            }

            public Segment Append(ReadOnlyMemory<byte> memory)
            {
                var next = new Segment(memory, RunningIndex + Memory.Length);
                Next = next;
                return next;
            }
        }
    }
}
