using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// A blob being written piece by piece. A piece counts as present once all its bytes are written and its
/// sha256 is recorded in the persisted metadata; recovery re-hashes present pieces, so a piece whose bytes
/// a power cut lost is dropped rather than trusted. Dispose without commit keeps the pieces for a later resume.
/// </summary>
/// <remarks>
/// The parts: <see cref="PieceWriter"/> (one piece's bytes), <see cref="WholeBlobHasher"/> (the whole-blob digest,
/// streamed while pieces arrive in order) and <see cref="PartialMetaFile"/> (the persisted piece state). This
/// type owns the piece state (which pieces are present, their sha256, who writes which) and the lifecycle.
/// </remarks>
public sealed class PartialBlob : IDisposable
{
    private readonly ContentStore _store;
    private readonly PartialEntry _entry;
    private readonly SafeFileHandle _handle;
    private readonly PieceBitmap _bitmap;
    private readonly byte[] _pieceHashes;
    private readonly PieceWriter?[] _writers;
    private readonly WholeBlobHasher _wholeHasher;
    private readonly PartialMetaFile _meta;

    // Guards writer slots, piece hashes, the whole-blob hasher's state and the lifecycle flags. Never held across I/O.
    private readonly Lock _stateLock = new();

    private bool _committing;
    private bool _committed;
    private bool _discarded;
    private bool _disposed;
    private BlobEntry? _committedBlob;

    private PartialBlob(ContentStore store, PartialEntry entry, SafeFileHandle handle, Digest digest, PieceLayout layout, PieceBitmap bitmap, byte[] pieceHashes)
    {
        _store = store;
        _entry = entry;
        _handle = handle;
        Digest = digest;
        Layout = layout;
        _bitmap = bitmap;
        _pieceHashes = pieceHashes;
        _writers = new PieceWriter?[layout.PieceCount];
        _wholeHasher = new WholeBlobHasher(this, store.Logger);
        _meta = new PartialMetaFile(entry.MetaPath, _stateLock, digest, layout, bitmap, pieceHashes);
    }

    public Digest Digest { get; }
    public PieceLayout Layout { get; }
    public bool HasPiece(int index) => _bitmap[index];
    public int FirstMissingPiece() => _bitmap.FirstMissing();
    public bool IsComplete => _bitmap.IsComplete;

    /// <summary>Number of pieces present.</summary>
    public int PresentPieceCount => _bitmap.SetCount;

    /// <summary>True once <see cref="CommitAsync"/> has moved the blob into the committed store.</summary>
    public bool IsCommitted
    {
        get
        {
            lock (_stateLock)
            {
                return _committed;
            }
        }
    }

    /// <summary>sha256 of a present piece, for publishing to peers.</summary>
    public Digest GetPieceDigest(int index)
    {
        lock (_stateLock)
        {
            if (!_bitmap[index])
            {
                throw new InvalidOperationException($"piece {index} of {Digest} is not present");
            }

            return Digest.FromHash(Digest.Sha256, _pieceHashes.AsSpan(index * PartialMeta.PieceHashSize, PartialMeta.PieceHashSize));
        }
    }

    /// <summary>Starts writing piece <paramref name="index"/>; bytes are appended in order with <see cref="PieceWriter.WriteAsync"/>.</summary>
    /// <remarks>
    /// Beginning a piece that already has an idle writer supersedes it (that writer then throws); this is how a
    /// caller retries a piece after a failed source. Beginning a piece whose writer is mid-write throws.
    /// </remarks>
    public PieceWriter BeginPiece(int index)
    {
        var offset = Layout.OffsetOf(index);
        var length = Layout.LengthOf(index);
        lock (_stateLock)
        {
            ThrowIfNotWritableLocked();
            if (_bitmap[index])
            {
                throw new InvalidOperationException($"piece {index} of {Digest} is already present");
            }

            if (_writers[index] is { } previous)
            {
                if (previous.IsBusyLocked)
                {
                    throw new InvalidOperationException($"piece {index} of {Digest} is being written by another writer");
                }

                previous.AbandonLocked();
            }

            var writer = new PieceWriter(this, index, offset, length, _wholeHasher.CloneIfNextLocked(index));
            _writers[index] = writer;
            return writer;
        }
    }

    /// <summary>Positional read of bytes already written (present or in-progress pieces); thread-safe.</summary>
    /// <remarks>Bytes of pieces that are not present are unverified (or zero); check <see cref="HasPiece"/> first. Keeps working after commit until disposed.</remarks>
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) || Volatile.Read(ref _discarded), this);
        if (offset >= Layout.Length || buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }

        var count = (int)Math.Min(buffer.Length, Layout.Length - offset);
        return RandomAccess.ReadAsync(_handle, buffer[..count], offset, cancellationToken);
    }

    /// <summary>
    /// Verifies the whole-blob digest (hashing in piece order, reusing what was hashed while writing) and
    /// atomically renames the data into <c>blobs/</c>. On mismatch deletes the partial and throws <see cref="DigestMismatchException"/>.
    /// </summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        lock (_stateLock)
        {
            if (_committed)
            {
                return;
            }

            ThrowIfNotWritableLocked();
            if (!_bitmap.IsComplete)
            {
                throw new InvalidOperationException($"cannot commit {Digest}: piece {_bitmap.FirstMissing()} of {Layout.PieceCount} is missing");
            }

            if (_committing)
            {
                throw new InvalidOperationException($"commit of {Digest} is already in progress");
            }

            _committing = true;
        }

        try
        {
            var actual = await _wholeHasher.FinishAsync(cancellationToken).ConfigureAwait(false);
            if (actual != Digest)
            {
                ContentStoreLog.CommitDigestMismatch(_store.Logger, Digest, actual);
                Discard();
                throw new DigestMismatchException(Digest, actual);
            }

            RandomAccess.FlushToDisk(_handle);

            await _meta.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                lock (_stateLock)
                {
                    ThrowIfNotWritableLocked();
                }

                var blob = _store.CommitPartial(_entry, _pieceHashes);
                _meta.RetireLocked();
                lock (_stateLock)
                {
                    _committed = true;
                    _committedBlob = blob;
                }
            }
            finally
            {
                _meta.Release();
            }
        }
        finally
        {
            lock (_stateLock)
            {
                _committing = false;
            }
        }
    }

    /// <summary>Deletes the partial data and metadata (used after a failed or mismatching transfer).</summary>
    public void Discard()
    {
        lock (_stateLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_committed || _discarded)
            {
                return;
            }
        }

        _meta.Wait();
        try
        {
            lock (_stateLock)
            {
                if (_committed || _discarded)
                {
                    return;
                }

                _discarded = true;
                AbandonWritersLocked();
            }

            _meta.RetireLocked();
            _handle.Dispose();
            _store.DiscardPartial(_entry);
        }
        finally
        {
            _meta.Release();
        }
    }

    public void Dispose()
    {
        bool persist;
        lock (_stateLock)
        {
            if (_disposed)
            {
                return;
            }

            persist = !_committed && !_discarded;
        }

        if (persist)
        {
            // Normally a no-op: every completed piece already persisted the meta. Covers a cancelled persist.
            _meta.Wait();
            try
            {
                _meta.PersistLocked();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                ContentStoreLog.PersistOnCloseFailed(_store.Logger, Digest, ex);
            }
            finally
            {
                _meta.Release();
            }
        }

        BlobEntry? committed;
        bool discarded;
        lock (_stateLock)
        {
            _disposed = true;
            AbandonWritersLocked();
            committed = _committedBlob;
            discarded = _discarded;
        }

        _handle.Dispose();
        _wholeHasher.Dispose();
        if (!discarded)
        {
            _store.ClosePartial(_entry, committed);
        }
    }

    internal SafeFileHandle Handle => _handle;

    /// <summary>Bytes read back from disk to feed the whole-blob hash (zero when pieces were written in order).</summary>
    internal long ReadBackBytes => _wholeHasher.ReadBackBytes;

    internal Lock StateLock => _stateLock;

    /// <summary>Discarded or disposed: no more hashing or writing. Caller holds <see cref="StateLock"/>.</summary>
    internal bool IsClosedLocked => _discarded || _disposed;

    /// <summary>Creates fresh data and meta files for a partial blob.</summary>
    internal static PartialBlob Create(ContentStore store, PartialEntry entry, Digest digest, PieceLayout layout)
    {
        StoreLayout.TryDelete(entry.MetaPath);
        StoreLayout.TryDelete(entry.DataPath);

        // Preallocating turns a full disk into an error now rather than halfway through the transfer.
        var handle = File.OpenHandle(entry.DataPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous, preallocationSize: layout.Length);
        try
        {
            RandomAccess.SetLength(handle, layout.Length);
            var blob = new PartialBlob(store, entry, handle, digest, layout, new PieceBitmap(layout.PieceCount), new byte[layout.PieceCount * PartialMeta.PieceHashSize]);
            blob._meta.MarkChangedLocked();
            blob._meta.PersistLocked();
            return blob;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reopens a partial left by a disposed writer or found by recovery; null (with a reason) if it is unusable.</summary>
    internal static PartialBlob? TryResume(ContentStore store, PartialEntry entry, Digest digest, PieceLayout layout, out string? reason)
    {
        reason = PartialMetaFile.TryLoad(entry.MetaPath, digest, layout, out var bitmap, out var pieceHashes);
        if (reason is not null)
        {
            return null;
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(entry.DataPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = $"data could not be opened: {ex.Message}";
            return null;
        }

        if (RandomAccess.GetLength(handle) != layout.Length)
        {
            handle.Dispose();
            reason = "data file has the wrong length";
            return null;
        }

        return new PartialBlob(store, entry, handle, digest, layout, bitmap!, pieceHashes!);
    }

    /// <summary>Second half of <see cref="PieceWriter.CompleteAsync"/>: the piece hashed right; record it and mark it present.</summary>
    internal async ValueTask<Digest> CompletePieceAsync(PieceWriter writer, Digest pieceDigest, CancellationToken cancellationToken)
    {
        var index = writer.Index;

        // No fsync here: kill -9 keeps the page cache, and after a power cut recovery re-hashes every present
        // piece against its recorded sha256 and drops the ones whose bytes were lost. CommitAsync fsyncs once.
        lock (_stateLock)
        {
            if (!ReferenceEquals(_writers[index], writer) || _discarded || _disposed)
            {
                writer.AbandonLocked();
                throw new InvalidOperationException($"piece {index} of {Digest} was superseded or the blob was closed before it completed");
            }

            pieceDigest.CopyHashTo(_pieceHashes.AsSpan(index * PartialMeta.PieceHashSize, PartialMeta.PieceHashSize));
            _bitmap.Set(index);
            _writers[index] = null;
            if (writer.TakeStreamHasherLocked() is { } streamed)
            {
                _wholeHasher.AdoptStreamedLocked(index, streamed);
            }

            writer.MarkCompletedLocked();
            _meta.MarkChangedLocked();
        }

        await _meta.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _meta.PersistLocked();
        }
        finally
        {
            _meta.Release();
        }

        await _wholeHasher.TryCatchUpAsync(cancellationToken).ConfigureAwait(false);
        return pieceDigest;
    }

    internal void ThrowIfNotWritableLocked()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_discarded)
        {
            throw new InvalidOperationException($"partial blob {Digest} was discarded");
        }

        if (_committed)
        {
            throw new InvalidOperationException($"blob {Digest} is already committed");
        }
    }

    internal void ReleaseWriterSlotLocked(PieceWriter writer)
    {
        if (ReferenceEquals(_writers[writer.Index], writer))
        {
            _writers[writer.Index] = null;
        }
    }

    private void AbandonWritersLocked()
    {
        for (var i = 0; i < _writers.Length; i++)
        {
            if (_writers[i] is { } writer)
            {
                writer.AbandonLocked();
                _writers[i] = null;
            }
        }
    }
}
