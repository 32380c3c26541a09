using System.Numerics;
using CsCheck;
using Google.Protobuf;
using Grpc.Core;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>
/// The peer request rules for any index, length and digest: the status follows from the request and the blob's
/// layout alone, never an exception. Piece bounds are stated in exact arithmetic: piece i of a blob of L bytes cut
/// into pieces of s bytes exists when 0 &lt;= i and i·s &lt; L.
/// </summary>
public sealed class PieceRequestsPropertyTests
{
    private static readonly Digest Task = Digest.Compute("task"u8);

    private static readonly Gen<long> BlobLength = Gen.OneOf(
        Gen.Long[0, 3 * (long)PieceLayout.MinPieceSize],
        Gen.Long[0, PieceRequests.MaxContentLength],
        Gen.OneOf(0L, 1L, PieceLayout.MinPieceSize, PieceLayout.MinPieceSize + 1L, PieceRequests.MaxContentLength));

    private static readonly Gen<int> Index = Gen.OneOf(Gen.Int, Gen.Int[-2, 600], Gen.OneOf(int.MinValue, -1, 0, int.MaxValue));

    private static readonly Gen<long> ClaimedLength = Gen.OneOf(Gen.Long, Gen.Long[-2, 3 * (long)PieceLayout.MinPieceSize], Gen.OneOf(long.MinValue, -1L, 0L, PieceRequests.MaxContentLength, PieceRequests.MaxContentLength + 1, long.MaxValue));

    private static readonly Gen<string> TaskDigest = Gen.OneOf(
        Gen.Const(Task.ToString()),
        Gen.Const("sha512:" + new string('0', 128)),
        Gen.String,
        Gen.Const(Task.ToString().ToUpperInvariant()),
        Gen.Const(Task.ToString()[..^1]),
        Gen.Const("md5:" + new string('0', 32)));

    [Fact]
    public void CheckIndex_AnyIndexAndBlob_OkExactlyForAPieceInsideTheBlob()
    {
        Gen.Select(BlobLength, Index).Sample((length, index) =>
        {
            var layout = PieceLayout.For(length);

            var status = PieceRequests.CheckIndex(index, layout, Task);

            var inside = index >= 0 && new BigInteger(index) * layout.PieceSize < length;
            var expected = index < 0 ? StatusCode.InvalidArgument : inside ? StatusCode.OK : StatusCode.OutOfRange;
            status.StatusCode.Should().Be(expected, because: $"piece {index} of {length} bytes in pieces of {layout.PieceSize}");
            if (inside)
            {
                // What the service then reads lies inside the blob and is not empty.
                var offset = layout.OffsetOf(index);
                var pieceLength = layout.LengthOf(index);
                pieceLength.Should().BeInRange(1, layout.PieceSize);
                (new BigInteger(offset) + pieceLength).Should().BeLessThanOrEqualTo(length);
            }
        });
    }

    [Fact]
    public void CheckDownloadPiece_AnyRequest_InvalidArgumentExactlyWhenWrongOnItsOwn()
    {
        Gen.Select(TaskDigest, Index, Gen.OneOf(Gen.Int[0, 70], Gen.OneOf(0, 31, 32, 33))).Sample((digest, index, expectedBytes) =>
        {
            var request = new DownloadPieceRequest { TaskDigest = digest, PieceIndex = index, ExpectedSha256 = ByteString.CopyFrom(new byte[expectedBytes]) };

            var status = PieceRequests.Check(request, out var task);

            var wellFormed = IsDigest(digest) && index >= 0 && expectedBytes is 0 or 32;
            status.StatusCode.Should().Be(wellFormed ? StatusCode.OK : StatusCode.InvalidArgument, because: $"'{digest}', piece {index}, {expectedBytes}-byte expected_sha256");
            if (wellFormed)
            {
                task.ToString().Should().Be(digest);
            }
        });
    }

    [Fact]
    public void CheckSyncPieces_AnyRequest_InvalidArgumentExactlyWhenNoBlobCouldMatch()
    {
        Gen.Select(TaskDigest, ClaimedLength).Sample((digest, claimed) =>
        {
            var status = PieceRequests.Check(new SyncPiecesRequest { TaskDigest = digest, ContentLength = claimed }, out _);

            // A length is possible if some blob can be cut into pieces: PieceLayout throws for the others.
            var possible = claimed >= 0 && Cuttable(claimed);
            status.StatusCode.Should().Be(IsDigest(digest) && possible ? StatusCode.OK : StatusCode.InvalidArgument, because: $"'{digest}', content_length {claimed}");
        });
    }

    [Fact]
    public void CheckLength_AnyClaimAndBlob_OkForUnknownOrEqual_ElseFailedPrecondition()
    {
        Gen.Select(BlobLength, ClaimedLength).Sample((length, claimed) =>
        {
            var status = PieceRequests.CheckLength(claimed, PieceLayout.For(length), Task);

            status.StatusCode.Should().Be(claimed == 0 || claimed == length ? StatusCode.OK : StatusCode.FailedPrecondition);
        });
    }

    [Fact]
    public void MaxContentLength_IsTheLongestBlobThatCanBeCut()
    {
        Cuttable(PieceRequests.MaxContentLength).Should().BeTrue();
        Cuttable(PieceRequests.MaxContentLength + 1).Should().BeFalse();
    }

    private static bool Cuttable(long length)
    {
        try
        {
            PieceLayout.For(length);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static bool IsDigest(string value) =>
        System.Text.RegularExpressions.Regex.IsMatch(value, @"\A(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})\z");
}
