using Grpc.Core;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Peers;

/// <summary>
/// Checks of peer requests, made before anything is looked up, allocated or read. Each returns the status to answer
/// with, <see cref="StatusCode.OK"/> when the request passes, so the rules are testable without a server.
/// </summary>
/// <remarks>
/// INVALID_ARGUMENT: wrong whatever the server holds (not a digest, a negative index or length, an expected sha256 that
/// is not 32 bytes). OUT_OF_RANGE: an index past the last piece of the blob held here. FAILED_PRECONDITION: a length
/// that differs from the blob held here. NOT_FOUND (the blob or piece is not here) is the caller's to decide.
/// </remarks>
internal static class PieceRequests
{
    /// <summary>
    /// Largest request message the peer service reads. The largest honest request (a sha512 task digest, every field
    /// set) is under 200 bytes; the bound keeps what one request can make the server allocate small.
    /// </summary>
    public const int MaxRequestBytes = 4 * 1024;

    /// <summary>The longest blob <see cref="PieceLayout"/> can cut (int.MaxValue pieces of the largest size): no blob is longer.</summary>
    public const long MaxContentLength = (long)int.MaxValue * PieceLayout.MaxPieceSize;

    /// <summary>A piece digest on the wire is a raw sha256.</summary>
    public const int Sha256Bytes = 32;

    /// <summary>What a SyncPieces request says on its own: its task digest and content length.</summary>
    public static Status Check(SyncPiecesRequest request, out Digest task)
    {
        ArgumentNullException.ThrowIfNull(request);
        var status = ParseTask(request.TaskDigest, out task);
        if (status.StatusCode != StatusCode.OK)
        {
            return status;
        }

        if (request.ContentLength is < 0 or > MaxContentLength)
        {
            return new Status(StatusCode.InvalidArgument, $"content_length {request.ContentLength} is no blob's length (0 for unknown, else at most {MaxContentLength})");
        }

        return Status.DefaultSuccess;
    }

    /// <summary>What a DownloadPiece request says on its own: its task digest, piece index and expected sha256.</summary>
    public static Status Check(DownloadPieceRequest request, out Digest task)
    {
        ArgumentNullException.ThrowIfNull(request);
        var status = ParseTask(request.TaskDigest, out task);
        if (status.StatusCode != StatusCode.OK)
        {
            return status;
        }

        if (request.PieceIndex < 0)
        {
            return NegativeIndex(request.PieceIndex);
        }

        var expected = request.ExpectedSha256.Length;
        if (expected != 0 && expected != Sha256Bytes)
        {
            return new Status(StatusCode.InvalidArgument, $"expected_sha256 is {expected} bytes; it must be empty or a raw sha256 of {Sha256Bytes} bytes");
        }

        return Status.DefaultSuccess;
    }

    /// <summary>The caller's content length (0: unknown) against the blob held here.</summary>
    public static Status CheckLength(long contentLength, PieceLayout layout, Digest task) =>
        contentLength == 0 || contentLength == layout.Length
            ? Status.DefaultSuccess
            : new Status(StatusCode.FailedPrecondition, $"{task} is {layout.Length} bytes here, not {contentLength}");

    /// <summary>A piece index against the blob held here.</summary>
    public static Status CheckIndex(int index, PieceLayout layout, Digest task)
    {
        if (index < 0)
        {
            return NegativeIndex(index);
        }

        return index < layout.PieceCount
            ? Status.DefaultSuccess
            : new Status(StatusCode.OutOfRange, $"piece_index {index} is not in [0, {layout.PieceCount}) for {task}");
    }

    /// <summary>Throws the status as an <see cref="RpcException"/> unless it is OK.</summary>
    public static void ThrowIfFailed(Status status)
    {
        if (status.StatusCode != StatusCode.OK)
        {
            throw new RpcException(status);
        }
    }

    private static Status ParseTask(string value, out Digest task) =>
        Digest.TryParse(value, out task)
            ? Status.DefaultSuccess
            // The value itself is not echoed: it may be long, or made to end up in someone's logs.
            : new Status(StatusCode.InvalidArgument, $"task_digest ({value.Length} characters) is not a digest such as sha256:<64 lower-case hex>");

    private static Status NegativeIndex(int index) =>
        new(StatusCode.InvalidArgument, $"piece_index {index} is negative");
}
