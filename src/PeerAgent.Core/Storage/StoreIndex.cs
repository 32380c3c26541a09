using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>
/// The in-memory index of the store: committed blobs (with their metadata files), partial blobs, the bytes they
/// use, and the LRU order that picks what to evict when a reservation needs room. A blob's metadata is counted
/// and evicted with it.
/// </summary>
/// <remarks>
/// One lock guards all of it. It is held across renames and small metadata operations so the index never
/// disagrees with the directory, but never across reads or writes of blob data. Evicted files are renamed into
/// <c>tmp/</c> under the lock (the caller's trash list) and unlinked by the caller after it, so a slow unlink of a
/// large file does not stall other callers and cannot race a re-commit of the same digest.
/// </remarks>
internal sealed class StoreIndex(StoreLayout layout, long quota, TimeProvider time, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, BlobEntry> _blobs = [];
    private readonly Dictionary<Digest, PartialEntry> _partials = [];
    private long _usedBytes;
    private long _evictions;
    private long _accessSequence;
    private bool _initialized;
    private bool _disposed;

    public long UsedBytes
    {
        get
        {
            lock (_lock)
            {
                return _usedBytes;
            }
        }
    }

    public int BlobCount
    {
        get
        {
            lock (_lock)
            {
                return _blobs.Count;
            }
        }
    }

    public long EvictionCount => Interlocked.Read(ref _evictions);

    public void ThrowIfInitializedOrDisposed()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(ContentStore));
            if (_initialized)
            {
                throw new InvalidOperationException("the content store is already initialized");
            }
        }
    }

    /// <summary>Takes what recovery found; returns the bytes now in use.</summary>
    public long Load(Dictionary<Digest, BlobEntry> blobs, Dictionary<Digest, PartialEntry> partials)
    {
        lock (_lock)
        {
            foreach (var (digest, entry) in blobs)
            {
                _blobs[digest] = entry;
                _usedBytes += entry.StoredBytes;
            }

            foreach (var (digest, entry) in partials)
            {
                _partials[digest] = entry;
                _usedBytes += entry.Length;
            }

            _initialized = true;
            return _usedBytes;
        }
    }

    public void MarkDisposed()
    {
        lock (_lock)
        {
            _disposed = true;
        }
    }

    public bool ContainsBlob(Digest digest)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            return _blobs.ContainsKey(digest);
        }
    }

    /// <summary>Takes a reader lease on a committed blob (it cannot be evicted until released) and touches it.</summary>
    public BlobEntry? TryLeaseBlob(Digest digest)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            if (!_blobs.TryGetValue(digest, out var entry))
            {
                return null;
            }

            entry.Readers++;
            TouchLocked(entry);
            return entry;
        }
    }

    /// <summary>The leased blob's file is gone from disk: ends the lease and forgets the blob (and trashes its metadata) so it is fetched again.</summary>
    public void ForgetMissingBlob(Digest digest, BlobEntry entry, List<string> trash)
    {
        lock (_lock)
        {
            entry.Readers--;
            if (entry.Readers == 0 && _blobs.TryGetValue(digest, out var current) && ReferenceEquals(current, entry))
            {
                _blobs.Remove(digest);
                _usedBytes -= entry.StoredBytes;
                TrashBlobMetaLocked(entry, trash);
            }
        }
    }

    /// <summary>The committed blob's entry and what its metadata holds; false if it is not committed.</summary>
    public bool TryGetBlob(Digest digest, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlobEntry? entry, out string? mediaType, out bool hasPieceDigests)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            if (!_blobs.TryGetValue(digest, out entry))
            {
                mediaType = null;
                hasPieceDigests = false;
                return false;
            }

            mediaType = entry.MediaType;
            hasPieceDigests = entry.HasPieceDigests;
            return true;
        }
    }

    /// <summary>The metadata file of <paramref name="entry"/> failed to read back: its piece digests may be set anew.</summary>
    public void ForgetPieceDigests(BlobEntry entry)
    {
        lock (_lock)
        {
            entry.HasPieceDigests = false;
        }
    }

    /// <summary>
    /// Renames <paramref name="tmpPath"/> over the metadata of <paramref name="entry"/>, reserving any growth
    /// (never by evicting that blob). False, leaving the temp file to the caller, if the blob is gone or there is
    /// no room.
    /// </summary>
    public bool TryReplaceMeta(BlobEntry entry, string tmpPath, long metaLength, string? mediaType, bool hasPieceDigests, List<string> trash)
    {
        lock (_lock)
        {
            if (!_blobs.TryGetValue(entry.Digest, out var current) || !ReferenceEquals(current, entry))
            {
                return false;
            }

            var growth = metaLength - entry.MetaLength;
            if (growth > 0 && !TryReserveLocked(entry.Digest, growth, trash, keep: entry))
            {
                return false;
            }

            try
            {
                File.Move(tmpPath, entry.MetaPath, overwrite: true);
            }
            catch
            {
                if (growth > 0)
                {
                    _usedBytes -= growth;
                }

                throw;
            }

            if (growth < 0)
            {
                _usedBytes += growth;
            }

            entry.MetaLength = metaLength;
            entry.MediaType = mediaType;
            entry.HasPieceDigests = hasPieceDigests;
            return true;
        }
    }

    public void ReleaseReader(BlobEntry entry)
    {
        lock (_lock)
        {
            entry.Readers--;
        }
    }

    /// <summary>
    /// Marks the partial of <paramref name="digest"/> open for writing: the one on disk when its length matches
    /// (<paramref name="resume"/>), else a new entry with <paramref name="length"/> bytes reserved.
    /// </summary>
    public PartialOpenResult TryBeginPartial(Digest digest, long length, List<string> trash, out PartialEntry? entry, out bool resume)
    {
        entry = null;
        resume = false;
        lock (_lock)
        {
            ThrowIfNotReady();
            if (_blobs.ContainsKey(digest))
            {
                return PartialOpenResult.Committed;
            }

            if (_partials.TryGetValue(digest, out var existing))
            {
                if (existing.IsOpen)
                {
                    return PartialOpenResult.Busy;
                }

                if (existing.Length == length)
                {
                    resume = true;
                }
                else
                {
                    // Same digest, different length: one of the two lengths is wrong; the new caller gets a clean slate.
                    _partials.Remove(digest);
                    _usedBytes -= existing.Length;
                    TrashPartialFilesLocked(existing, trash);
                }
            }

            if (resume)
            {
                entry = existing!;
            }
            else
            {
                if (!TryReserveLocked(digest, length, trash))
                {
                    return PartialOpenResult.NoRoom;
                }

                entry = new PartialEntry(digest, length, layout.PartialDataPath(digest), layout.PartialMetaPath(digest));
                _partials.Add(digest, entry);
            }

            entry.IsOpen = true;
            TouchLocked(entry);
            return PartialOpenResult.Opened;
        }
    }

    /// <summary>Completes when no writer holds the partial of <paramref name="digest"/> (at once if none does).</summary>
    public Task WhenPartialClosed(Digest digest)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            if (!_partials.TryGetValue(digest, out var entry) || !entry.IsOpen)
            {
                return Task.CompletedTask;
            }

            entry.Closed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return entry.Closed.Task;
        }
    }

    /// <summary>Opening the partial's files failed: forgets the entry and its reservation.</summary>
    public void ForgetPartial(PartialEntry entry)
    {
        lock (_lock)
        {
            if (_partials.TryGetValue(entry.Digest, out var current) && ReferenceEquals(current, entry))
            {
                _partials.Remove(entry.Digest);
                _usedBytes -= entry.Length;
            }

            ReleaseWaitersLocked(entry);
        }
    }

    /// <summary>Reserves room for a new blob; false (and touches it) if it is already committed.</summary>
    public bool TryReserveNewBlob(Digest digest, long bytes, List<string> trash)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            if (_blobs.TryGetValue(digest, out var present))
            {
                TouchLocked(present);
                return false;
            }

            if (!TryReserveLocked(digest, bytes, trash))
            {
                throw new StoreFullException(bytes, quota);
            }

            return true;
        }
    }

    public void Unreserve(long bytes)
    {
        lock (_lock)
        {
            _usedBytes -= bytes;
        }
    }

    /// <summary>
    /// Renames a verified temp file into <c>blobs/</c>, then its metadata (if any) into <c>meta/</c>, and indexes
    /// them under the reservation made for both. False if the blob was committed meanwhile (the reservation and
    /// the temp files stay the caller's).
    /// </summary>
    public bool CommitVerifiedFile(Digest digest, string tmpPath, long length, string? metaTmpPath, long metaLength, string? mediaType, List<string> trash)
    {
        lock (_lock)
        {
            if (_blobs.ContainsKey(digest))
            {
                return false;
            }

            var path = layout.BlobPath(digest);
            File.Move(tmpPath, path, overwrite: true);
            var entry = new BlobEntry(digest, length, path, layout.BlobMetaPath(digest));
            TouchLocked(entry);
            _blobs.Add(digest, entry);
            if (metaTmpPath is not null && TryMoveMetaLocked(entry, metaTmpPath))
            {
                entry.MetaLength = metaLength;
                entry.MediaType = mediaType;
            }
            else
            {
                _usedBytes -= metaLength;
            }

            // A stale partial of the same blob is now useless.
            if (_partials.TryGetValue(digest, out var stale) && !stale.IsOpen)
            {
                _partials.Remove(digest);
                _usedBytes -= stale.Length;
                TrashPartialFilesLocked(stale, trash);
            }

            return true;
        }
    }

    /// <summary>
    /// Moves a verified partial's data file into <c>blobs/</c>, then its metadata (<paramref name="metaTmpPath"/>,
    /// with the piece digests) into <c>meta/</c> if there is room for it; returns the entry with a reader lease held
    /// for the partial. A blob committed meanwhile by someone else keeps its own metadata.
    /// </summary>
    public BlobEntry CommitPartial(PartialEntry partial, string? metaTmpPath, long metaLength, List<string> trash, out bool created)
    {
        var digest = partial.Digest;
        created = false;
        lock (_lock)
        {
            BlobEntry blob;
            if (_blobs.TryGetValue(digest, out var existing))
            {
                // PutAsync committed the same bytes meanwhile; ours are redundant.
                layout.MoveToTrash(partial.DataPath, trash);
                blob = existing;
                _usedBytes -= partial.Length;
            }
            else
            {
                // Data first, metadata after: a crash in between leaves a blob without metadata, which is fine.
                File.Move(partial.DataPath, layout.BlobPath(digest), overwrite: true);
                blob = new BlobEntry(digest, partial.Length, layout.BlobPath(digest), layout.BlobMetaPath(digest));
                _blobs.Add(digest, blob);
                created = true;
            }

            // After the rename: a crash in between leaves a meta without data, which recovery deletes.
            StoreLayout.TryDelete(partial.MetaPath);
            if (_partials.TryGetValue(digest, out var current) && ReferenceEquals(current, partial))
            {
                _partials.Remove(digest);
            }

            ReleaseWaitersLocked(partial);
            blob.Readers++;
            TouchLocked(blob);

            // The lease taken above keeps the new blob itself from being evicted for its metadata.
            if (created && metaTmpPath is not null && TryReserveLocked(digest, metaLength, trash))
            {
                if (TryMoveMetaLocked(blob, metaTmpPath))
                {
                    blob.MetaLength = metaLength;
                    blob.HasPieceDigests = true;
                }
                else
                {
                    _usedBytes -= metaLength;
                }
            }

            return blob;
        }
    }

    /// <summary>Forgets a partial and its reservation and trashes its files.</summary>
    public void DiscardPartial(PartialEntry partial, List<string> trash)
    {
        lock (_lock)
        {
            if (_partials.TryGetValue(partial.Digest, out var current) && ReferenceEquals(current, partial))
            {
                _partials.Remove(partial.Digest);
                _usedBytes -= partial.Length;
            }

            TrashPartialFilesLocked(partial, trash);
            ReleaseWaitersLocked(partial);
        }
    }

    /// <summary>A partial was disposed: it becomes resumable (and evictable), or its committed blob's lease ends.</summary>
    public void ClosePartial(PartialEntry partial, BlobEntry? committed)
    {
        lock (_lock)
        {
            if (committed is not null)
            {
                committed.Readers--;
            }
            else if (_partials.TryGetValue(partial.Digest, out var current) && ReferenceEquals(current, partial))
            {
                partial.IsOpen = false;
                TouchLocked(partial);
            }

            // Committed: already released at commit.
            ReleaseWaitersLocked(partial);
        }
    }

    private void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, typeof(ContentStore));
        if (!_initialized)
        {
            throw new InvalidOperationException("ContentStore.InitializeAsync must complete before the store is used");
        }
    }

    private void TouchLocked(BlobEntry entry)
    {
        entry.LastAccess = time.GetUtcNow().UtcTicks;
        entry.Sequence = ++_accessSequence;
    }

    private void TouchLocked(PartialEntry entry)
    {
        entry.LastAccess = time.GetUtcNow().UtcTicks;
        entry.Sequence = ++_accessSequence;
    }

    /// <summary>Renames a metadata temp file into place; a failure only costs the metadata.</summary>
    private bool TryMoveMetaLocked(BlobEntry entry, string metaTmpPath)
    {
        try
        {
            File.Move(metaTmpPath, entry.MetaPath, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ContentStoreLog.BlobMetaWriteFailed(logger, entry.Digest, ex);
            return false;
        }
    }

    private void TrashBlobMetaLocked(BlobEntry entry, List<string> trash)
    {
        if (entry.MetaLength > 0)
        {
            layout.MoveToTrash(entry.MetaPath, trash);
        }
    }

    private static void ReleaseWaitersLocked(PartialEntry partial)
    {
        partial.Closed?.TrySetResult();
        partial.Closed = null;
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> for <paramref name="digest"/>, evicting least recently used idle blobs
    /// (other than <paramref name="keep"/>) and closed partials if needed. Evicts nothing, logs why and returns
    /// false when even evicting everything idle would not make room.
    /// </summary>
    private bool TryReserveLocked(Digest digest, long bytes, List<string> trash, BlobEntry? keep = null)
    {
        if (_usedBytes + bytes <= quota)
        {
            _usedBytes += bytes;
            return true;
        }

        var candidates = new List<EvictionCandidate>();
        long evictable = 0;
        foreach (var blob in _blobs.Values)
        {
            if (blob.Readers == 0 && !ReferenceEquals(blob, keep))
            {
                candidates.Add(new EvictionCandidate(blob.LastAccess, blob.Sequence, blob.StoredBytes, blob, null));
                evictable += blob.StoredBytes;
            }
        }

        foreach (var partial in _partials.Values)
        {
            if (!partial.IsOpen)
            {
                candidates.Add(new EvictionCandidate(partial.LastAccess, partial.Sequence, partial.Length, null, partial));
                evictable += partial.Length;
            }
        }

        if (bytes > quota || _usedBytes - evictable + bytes > quota)
        {
            ContentStoreLog.NoRoom(logger, digest, bytes, _usedBytes, evictable, quota);
            return false;
        }

        candidates.Sort(static (a, b) => a.LastAccess != b.LastAccess ? a.LastAccess.CompareTo(b.LastAccess) : a.Sequence.CompareTo(b.Sequence));

        long freed = 0;
        var take = 0;
        while (take < candidates.Count && _usedBytes - freed + bytes > quota)
        {
            freed += candidates[take].Length;
            take++;
        }

        for (var i = 0; i < take; i++)
        {
            var victim = candidates[i];
            if (victim.Blob is { } blob)
            {
                _blobs.Remove(blob.Digest);
                layout.MoveToTrash(blob.Path, trash);
                TrashBlobMetaLocked(blob, trash);
                ContentStoreLog.Evicted(logger, "blob", blob.Digest, blob.StoredBytes, bytes);
            }
            else
            {
                var partial = victim.Partial!;
                _partials.Remove(partial.Digest);
                TrashPartialFilesLocked(partial, trash);
                ContentStoreLog.Evicted(logger, "partial blob", partial.Digest, partial.Length, bytes);
            }

            _usedBytes -= victim.Length;
            Interlocked.Increment(ref _evictions);
        }

        _usedBytes += bytes;
        return true;
    }

    private void TrashPartialFilesLocked(PartialEntry partial, List<string> trash)
    {
        layout.MoveToTrash(partial.DataPath, trash);
        layout.MoveToTrash(partial.MetaPath, trash);
        StoreLayout.TryDelete(partial.MetaPath + ".tmp");
    }

    private readonly record struct EvictionCandidate(long LastAccess, long Sequence, long Length, BlobEntry? Blob, PartialEntry? Partial);
}
