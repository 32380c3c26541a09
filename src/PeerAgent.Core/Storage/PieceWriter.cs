using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Appends the bytes of one piece; <see cref="CompleteAsync"/> records it and marks it present.</summary>
/// <remarks>
/// Not for concurrent use by several threads. A failed or cancelled write leaves the writer unusable;
/// start the piece again with <see cref="PartialBlob.BeginPiece"/>.
/// </remarks>
public sealed class PieceWriter
{
    private readonly PartialBlob _blob;
    private readonly long _offset;
    private readonly int _length;
    private readonly IncrementalHash _pieceHasher;

    // Mutable state below is guarded by the blob's state lock.
    private IncrementalHash? _streamHasher;
    private int _written;
    private bool _inFlight;
    private bool _completing;
    private bool _completed;
    private bool _abandoned;

    internal PieceWriter(PartialBlob blob, int index, long offset, int length, IncrementalHash? streamHasher)
    {
        _blob = blob;
        Index = index;
        _offset = offset;
        _length = length;
        _streamHasher = streamHasher;
        _pieceHasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    public int Index { get; }
    public int Written => Volatile.Read(ref _written);

    /// <summary>Full length of this piece.</summary>
    public int Length => _length;

    internal bool IsBusyLocked => _inFlight || _completing;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        long position;
        lock (_blob.StateLock)
        {
            ThrowIfUnusableLocked();
            if (data.Length > _length - _written)
            {
                throw new ArgumentException($"piece {Index} is {_length} bytes; {_written} written, {data.Length} more do not fit", nameof(data));
            }

            _inFlight = true;
            position = _offset + _written;
        }

        var ok = false;
        try
        {
            await RandomAccess.WriteAsync(_blob.Handle, data, position, cancellationToken).ConfigureAwait(false);
            _pieceHasher.AppendData(data.Span);
            _streamHasher?.AppendData(data.Span);
            ok = true;
        }
        finally
        {
            lock (_blob.StateLock)
            {
                _inFlight = false;
                if (ok)
                {
                    _written += data.Length;
                }
                else
                {
                    // Some of the bytes may be on disk and none are hashed: the piece must start over.
                    AbandonLocked();
                    _blob.ReleaseWriterSlotLocked(this);
                }
            }
        }
    }

    /// <summary>
    /// Checks the piece is full length (and matches <paramref name="expected"/> when given), records its
    /// digest and marks it present. Throws <see cref="DigestMismatchException"/> on a bad piece and leaves it absent.
    /// </summary>
    public ValueTask<Digest> CompleteAsync(Digest? expected, CancellationToken cancellationToken)
    {
        if (expected is { } e && e.Algorithm != Digest.Sha256)
        {
            throw new ArgumentException($"piece digests are sha256, got {e.Algorithm}", nameof(expected));
        }

        var actual = FinishHash(expected);
        return _blob.CompletePieceAsync(this, actual, cancellationToken);
    }

    internal IncrementalHash? TakeStreamHasherLocked()
    {
        var hasher = _streamHasher;
        _streamHasher = null;
        return hasher;
    }

    internal void MarkCompletedLocked()
    {
        _completing = false;
        _completed = true;
        _pieceHasher.Dispose();
    }

    internal void AbandonLocked()
    {
        if (_abandoned || _completed)
        {
            return;
        }

        _abandoned = true;
        _completing = false;
        _streamHasher?.Dispose();
        _streamHasher = null;

        // An in-flight write still appends to the piece hasher; it is disposed with the writer.
        if (!_inFlight)
        {
            _pieceHasher.Dispose();
        }
    }

    private Digest FinishHash(Digest? expected)
    {
        lock (_blob.StateLock)
        {
            ThrowIfUnusableLocked();
            if (_written != _length)
            {
                throw new InvalidOperationException($"piece {Index} has {_written} of {_length} bytes");
            }

            _completing = true;
        }

        Span<byte> hash = stackalloc byte[Digest.Sha256Bytes];
        _pieceHasher.GetHashAndReset(hash);
        var actual = Digest.FromHash(Digest.Sha256, hash);
        if (expected is { } want && !want.Matches(hash))
        {
            lock (_blob.StateLock)
            {
                AbandonLocked();
                _blob.ReleaseWriterSlotLocked(this);
            }

            throw new DigestMismatchException(want, actual);
        }

        return actual;
    }

    private void ThrowIfUnusableLocked()
    {
        _blob.ThrowIfNotWritableLocked();
        if (_abandoned)
        {
            throw new InvalidOperationException($"writer of piece {Index} was abandoned (failed write, bad digest, or superseded by a new BeginPiece)");
        }

        if (_completed)
        {
            throw new InvalidOperationException($"piece {Index} is already complete");
        }

        if (_inFlight || _completing)
        {
            throw new InvalidOperationException($"writer of piece {Index} is already busy; writes must not overlap");
        }
    }
}
