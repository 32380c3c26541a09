using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// A blob being written piece by piece. A piece counts as present only once its bytes are durable
/// (fsync) and its sha256 is recorded in the persisted metadata. Dispose without commit keeps the
/// verified pieces on disk for a later resume.
/// </summary>
public sealed class PartialBlob : IDisposable
{
    private PartialBlob() => throw new NotImplementedException();

    public Digest Digest { get; }
    public PieceLayout Layout { get; }
    public bool HasPiece(int index) => throw new NotImplementedException();
    public int FirstMissingPiece() => throw new NotImplementedException();
    public bool IsComplete => throw new NotImplementedException();

    /// <summary>sha256 of a present piece, for publishing to peers.</summary>
    public Digest GetPieceDigest(int index) => throw new NotImplementedException();

    /// <summary>Starts writing piece <paramref name="index"/>; bytes are appended in order with <see cref="PieceWriter.WriteAsync"/>.</summary>
    public PieceWriter BeginPiece(int index) => throw new NotImplementedException();

    /// <summary>Positional read of bytes already written (present or in-progress pieces); thread-safe.</summary>
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Verifies the whole-blob digest (hashing in piece order, reusing what was hashed while writing) and
    /// atomically renames the data into <c>blobs/</c>. On mismatch deletes the partial and throws <see cref="DigestMismatchException"/>.
    /// </summary>
    public Task CommitAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Deletes the partial data and metadata (used after a failed or mismatching transfer).</summary>
    public void Discard() => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();
}

/// <summary>Appends the bytes of one piece; <see cref="CompleteAsync"/> makes it durable and present.</summary>
public sealed class PieceWriter
{
    private PieceWriter() => throw new NotImplementedException();

    public int Index { get; }
    public int Written { get; }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Checks the piece is full length (and matches <paramref name="expected"/> when given), fsyncs, records its
    /// digest and marks it present. Throws <see cref="DigestMismatchException"/> on a bad piece and leaves it absent.
    /// </summary>
    public ValueTask<Digest> CompleteAsync(Digest? expected, CancellationToken cancellationToken) => throw new NotImplementedException();
}
