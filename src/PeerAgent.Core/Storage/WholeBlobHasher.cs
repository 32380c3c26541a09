using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>The whole-blob digest of a <see cref="PartialBlob"/>, computed in piece order.</summary>
/// <remarks>
/// The hasher always holds the hash of pieces <c>[0, hashedPieces)</c>. The writer of piece <c>hashedPieces</c>
/// streams its bytes into a clone of that hasher as it writes (<see cref="CloneIfNextLocked"/>), so in-order
/// writing hashes every byte once. Pieces completed out of order (parallel fetches, or pieces resumed from disk)
/// are read back and hashed once they become contiguous, opportunistically after a piece completes
/// (<see cref="TryCatchUpAsync"/>) and at the latest in <see cref="FinishAsync"/>. A bit is never cleared while
/// the blob is open, which is what lets the clone and the catch-up run without a lock around the hasher: the
/// catch-up only touches present pieces, the streaming writer only an absent one. Fields marked "state lock"
/// are guarded by the blob's <see cref="PartialBlob.StateLock"/>.
/// </remarks>
internal sealed class WholeBlobHasher : IDisposable
{
    private readonly PartialBlob _blob;
    private readonly ILogger _logger;

    // Serializes the read-back catch-up.
    private readonly SemaphoreSlim _catchUpLock = new(1, 1);

    private IncrementalHash _hasher; // state lock
    private int _hashedPieces; // state lock
    private long _readBackBytes;

    public WholeBlobHasher(PartialBlob blob, ILogger logger)
    {
        _blob = blob;
        _logger = logger;
        _hasher = blob.Digest.CreateHasher();
    }

    /// <summary>Bytes read back from disk (zero when pieces were written in order).</summary>
    public long ReadBackBytes => Interlocked.Read(ref _readBackBytes);

    /// <summary>A hasher for the writer of piece <paramref name="index"/> to stream into, if that piece is next in order.</summary>
    public IncrementalHash? CloneIfNextLocked(int index) => index == _hashedPieces ? _hasher.Clone() : null;

    /// <summary>The writer of piece <paramref name="index"/> streamed every byte up to its end into <paramref name="streamed"/>.</summary>
    public void AdoptStreamedLocked(int index, IncrementalHash streamed)
    {
        // index == _hashedPieces still holds: only this piece's completion could have moved it past index.
        var previous = _hasher;
        _hasher = streamed;
        _hashedPieces = index + 1;
        previous.Dispose();
    }

    /// <summary>Hashes newly contiguous pieces now, so commit has little left to do. Never fails the piece that triggered it.</summary>
    public async ValueTask TryCatchUpAsync(CancellationToken cancellationToken)
    {
        // Someone else is already catching up, or committing: they will reach this piece.
        if (!await _catchUpLock.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            await CatchUpLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            ContentStoreLog.CatchUpHashingStopped(_logger, _blob.Digest, ex);
        }
        finally
        {
            _catchUpLock.Release();
        }
    }

    /// <summary>Hashes whatever is left (every piece must be present) and returns the whole-blob digest.</summary>
    public async Task<Digest> FinishAsync(CancellationToken cancellationToken)
    {
        await _catchUpLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CatchUpLockedAsync(cancellationToken).ConfigureAwait(false);
            return CurrentDigest();
        }
        finally
        {
            _catchUpLock.Release();
        }
    }

    public void Dispose() => _hasher.Dispose();

    /// <summary>Reads back and hashes present pieces from <see cref="_hashedPieces"/> on. Caller holds <see cref="_catchUpLock"/>.</summary>
    private async Task CatchUpLockedAsync(CancellationToken cancellationToken)
    {
        var layout = _blob.Layout;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int next;
                IncrementalHash candidate;
                lock (_blob.StateLock)
                {
                    next = _hashedPieces;
                    if (next >= layout.PieceCount || !_blob.HasPiece(next) || _blob.IsClosedLocked)
                    {
                        return;
                    }

                    // Feed a clone so a failed read leaves the hasher at a piece boundary.
                    candidate = _hasher.Clone();
                }

                buffer ??= ArrayPool<byte>.Shared.Rent(FileHashing.BufferSize);
                try
                {
                    await FileHashing.HashRangeAsync(_blob.Handle, layout.OffsetOf(next), layout.LengthOf(next), buffer, candidate, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    candidate.Dispose();
                    throw;
                }

                Interlocked.Add(ref _readBackBytes, layout.LengthOf(next));
                IncrementalHash previous;
                lock (_blob.StateLock)
                {
                    previous = _hasher;
                    _hasher = candidate;
                    _hashedPieces = next + 1;
                }

                previous.Dispose();
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private Digest CurrentDigest()
    {
        Span<byte> hash = stackalloc byte[Digest.MaxHashBytes];
        int written;
        lock (_blob.StateLock)
        {
            written = _hasher.GetCurrentHash(hash);
        }

        return Digest.FromHash(_blob.Digest.Algorithm, hash[..written]);
    }
}
