using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
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
/// Whole-blob hashing: the hasher always holds the hash of pieces <c>[0, hashedPieces)</c>. The writer of piece
/// <c>hashedPieces</c> streams its bytes into a clone of that hasher as it writes, so in-order writing hashes every
/// byte once. Pieces completed out of order (parallel fetches, or pieces resumed from disk) are read back and
/// hashed once they become contiguous, opportunistically after a piece completes and at the latest in
/// <see cref="CommitAsync"/>. A bit is never cleared while the blob is open, which is what lets the clone and the
/// catch-up run without a lock around the hasher: the catch-up only touches present pieces, the streaming
/// writer only an absent one.
/// </remarks>
public sealed class PartialBlob : IDisposable
{
    private readonly ContentStore _store;
    private readonly PartialEntry _entry;
    private readonly SafeFileHandle _handle;
    private readonly PieceBitmap _bitmap;
    private readonly byte[] _pieceHashes;
    private readonly PieceWriter?[] _writers;

    // Guards writer slots, piece hashes, the hasher swap and the lifecycle flags. Never held across I/O.
    private readonly Lock _stateLock = new();

    // Serializes meta rewrites, and orders them against commit and discard.
    private readonly SemaphoreSlim _metaLock = new(1, 1);

    // Serializes the read-back catch-up of the whole-blob hash.
    private readonly SemaphoreSlim _hashLock = new(1, 1);

    private IncrementalHash _wholeHasher;
    private int _hashedPieces;
    private long _readBackBytes;
    private long _stateVersion;
    private long _persistedVersion;
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
        _wholeHasher = digest.CreateHasher();
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

            var streamHasher = index == _hashedPieces ? _wholeHasher.Clone() : null;
            var writer = new PieceWriter(this, index, offset, length, streamHasher);
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
            Digest actual;
            await _hashLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await CatchUpHashLockedAsync(cancellationToken).ConfigureAwait(false);
                actual = CurrentWholeDigest();
            }
            finally
            {
                _hashLock.Release();
            }

            if (actual != Digest)
            {
                ContentStoreLog.CommitDigestMismatch(_store.Logger, Digest, actual);
                Discard();
                throw new DigestMismatchException(Digest, actual);
            }

            RandomAccess.FlushToDisk(_handle);

            await _metaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                lock (_stateLock)
                {
                    ThrowIfNotWritableLocked();
                }

                var blob = _store.CommitPartial(_entry);
                lock (_stateLock)
                {
                    _committed = true;
                    _committedBlob = blob;
                }
            }
            finally
            {
                _metaLock.Release();
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

        _metaLock.Wait();
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

            _handle.Dispose();
            _store.DiscardPartial(_entry);
        }
        finally
        {
            _metaLock.Release();
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
            _metaLock.Wait();
            try
            {
                PersistMetaLocked();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                ContentStoreLog.PersistOnCloseFailed(_store.Logger, Digest, ex);
            }
            finally
            {
                _metaLock.Release();
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
    internal long ReadBackBytes => Interlocked.Read(ref _readBackBytes);

    internal Lock StateLock => _stateLock;

    /// <summary>Creates fresh data and meta files for a partial blob.</summary>
    internal static PartialBlob Create(ContentStore store, PartialEntry entry, Digest digest, PieceLayout layout)
    {
        ContentStore.TryDelete(entry.MetaPath);
        ContentStore.TryDelete(entry.DataPath);

        // Preallocating turns a full disk into an error now rather than halfway through the transfer.
        var handle = File.OpenHandle(entry.DataPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous, preallocationSize: layout.Length);
        try
        {
            RandomAccess.SetLength(handle, layout.Length);
            var blob = new PartialBlob(store, entry, handle, digest, layout, new PieceBitmap(layout.PieceCount), new byte[layout.PieceCount * PartialMeta.PieceHashSize]);
            blob._stateVersion = 1;
            blob.PersistMetaLocked();
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
        byte[] metaBytes;
        try
        {
            metaBytes = File.ReadAllBytes(entry.MetaPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = $"meta could not be read: {ex.Message}";
            return null;
        }

        reason = PartialMeta.TryRead(metaBytes, out var metaDigest, out var metaLayout, out var bitmap, out var pieceHashes);
        if (reason is not null)
        {
            return null;
        }

        if (metaDigest != digest || metaLayout != layout)
        {
            reason = "meta describes a different blob";
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
                // index == _hashedPieces still holds: only this piece's completion could have moved it past index.
                var previous = _wholeHasher;
                _wholeHasher = streamed;
                _hashedPieces = index + 1;
                previous.Dispose();
            }

            writer.MarkCompletedLocked();
            _stateVersion++;
        }

        await _metaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PersistMetaLocked();
        }
        finally
        {
            _metaLock.Release();
        }

        await TryCatchUpHashAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Rewrites the meta if anything changed since it was last written. Caller holds <see cref="_metaLock"/>.</summary>
    private void PersistMetaLocked()
    {
        var size = PartialMeta.SizeFor(Layout.PieceCount);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            long version;
            lock (_stateLock)
            {
                if (_committed || _discarded || _stateVersion == _persistedVersion)
                {
                    return;
                }

                version = _stateVersion;
                PartialMeta.Write(buffer.AsSpan(0, size), Digest, Layout, _bitmap, _pieceHashes);
            }

            PartialMeta.WriteAtomically(_entry.MetaPath, buffer.AsSpan(0, size));
            _persistedVersion = version;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hashes newly contiguous pieces now, so commit has little left to do. Never fails the piece that triggered it.</summary>
    private async ValueTask TryCatchUpHashAsync(CancellationToken cancellationToken)
    {
        // Someone else is already catching up, or committing: they will reach this piece.
        if (!await _hashLock.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            await CatchUpHashLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            ContentStoreLog.CatchUpHashingStopped(_store.Logger, Digest, ex);
        }
        finally
        {
            _hashLock.Release();
        }
    }

    /// <summary>Reads back and hashes present pieces from <see cref="_hashedPieces"/> on. Caller holds <see cref="_hashLock"/>.</summary>
    private async Task CatchUpHashLockedAsync(CancellationToken cancellationToken)
    {
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int next;
                IncrementalHash candidate;
                lock (_stateLock)
                {
                    next = _hashedPieces;
                    if (next >= Layout.PieceCount || !_bitmap[next] || _discarded || _disposed)
                    {
                        return;
                    }

                    // Feed a clone so a failed read leaves the hasher at a piece boundary.
                    candidate = _wholeHasher.Clone();
                }

                buffer ??= ArrayPool<byte>.Shared.Rent(FileHashing.BufferSize);
                try
                {
                    await FileHashing.HashRangeAsync(_handle, Layout.OffsetOf(next), Layout.LengthOf(next), buffer, candidate, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    candidate.Dispose();
                    throw;
                }

                Interlocked.Add(ref _readBackBytes, Layout.LengthOf(next));
                IncrementalHash previous;
                lock (_stateLock)
                {
                    previous = _wholeHasher;
                    _wholeHasher = candidate;
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

    private Digest CurrentWholeDigest()
    {
        Span<byte> hash = stackalloc byte[Digest.MaxHashBytes];
        int written;
        lock (_stateLock)
        {
            written = _wholeHasher.GetCurrentHash(hash);
        }

        return Digest.FromHash(Digest.Algorithm, hash[..written]);
    }
}

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
