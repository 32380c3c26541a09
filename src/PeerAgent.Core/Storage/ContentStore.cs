using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Disk content store. Committed blobs live at <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c> and are only ever renamed there
/// after their whole-blob digest verified. Partial blobs live under <c>partial/</c> with a persisted piece bitmap.
/// </summary>
/// <remarks>
/// One lock guards the in-memory index (committed blobs, partial blobs, used bytes). It is held across
/// renames and small metadata operations so the index never disagrees with the directory, but never across
/// reads or writes of blob data. Evicted files are renamed into <c>tmp/</c> under the lock and unlinked after it,
/// so a slow unlink of a large file does not stall other callers and cannot race a re-commit of the same digest.
/// </remarks>
public sealed class ContentStore : IDisposable
{
    /// <summary>A meta file this large is not one of ours (a million pieces is ~33 MB).</summary>
    private const long MaxMetaBytes = 64L * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _root;
    private readonly string _blobsDir;
    private readonly string _partialDir;
    private readonly string _tmpDir;
    private readonly long _quota;
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, BlobEntry> _blobs = [];
    private readonly Dictionary<Digest, PartialEntry> _partials = [];
    private long _usedBytes;
    private long _evictions;
    private long _accessSequence;
    private long _tmpSequence;
    private bool _initialized;
    private bool _disposed;

    public ContentStore(ContentStoreOptions options, TimeProvider timeProvider, ILogger<ContentStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (string.IsNullOrWhiteSpace(options.RootPath))
        {
            throw new ArgumentException("ContentStoreOptions.RootPath must name a directory", nameof(options));
        }

        if (options.QuotaBytes <= 0)
        {
            throw new ArgumentException($"ContentStoreOptions.QuotaBytes must be positive, got {options.QuotaBytes}", nameof(options));
        }

        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _root = Path.GetFullPath(options.RootPath);
        _blobsDir = Path.Combine(_root, "blobs");
        _partialDir = Path.Combine(_root, "partial");
        _tmpDir = Path.Combine(_root, "tmp");
        _quota = options.QuotaBytes;
    }

    /// <summary>Full path of the store root.</summary>
    public string RootPath => _root;

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

    public long QuotaBytes => _quota;

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

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    /// <summary>Recovers after a crash: deletes temp files, indexes committed blobs, verifies partial pieces against their recorded digests.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_initialized)
            {
                throw new InvalidOperationException("the content store is already initialized");
            }
        }

        Directory.CreateDirectory(_root);

        // Whatever is in tmp/ is an unfinished PutAsync or an eviction that had not been unlinked yet.
        if (Directory.Exists(_tmpDir))
        {
            Directory.Delete(_tmpDir, recursive: true);
        }

        Directory.CreateDirectory(_tmpDir);
        Directory.CreateDirectory(_blobsDir);
        Directory.CreateDirectory(_partialDir);

        var blobs = new Dictionary<Digest, BlobEntry>();
        ScanBlobs(blobs);
        Directory.CreateDirectory(Path.Combine(_blobsDir, Digest.Sha256));
        Directory.CreateDirectory(Path.Combine(_blobsDir, Digest.Sha512));

        var partials = new Dictionary<Digest, PartialEntry>();
        await ScanPartialsAsync(blobs, partials, cancellationToken).ConfigureAwait(false);

        long used;
        lock (_lock)
        {
            foreach (var (digest, entry) in blobs)
            {
                _blobs[digest] = entry;
                _usedBytes += entry.Length;
            }

            foreach (var (digest, entry) in partials)
            {
                _partials[digest] = entry;
                _usedBytes += entry.Length;
            }

            _initialized = true;
            used = _usedBytes;
        }

        ContentStoreLog.Recovered(_logger, _root, blobs.Count, partials.Count, used, _quota);
        if (used > _quota)
        {
            ContentStoreLog.OverQuotaAfterRecovery(_logger, used, _quota);
        }
    }

    public bool Contains(Digest digest)
    {
        lock (_lock)
        {
            ThrowIfNotReady();
            return _blobs.ContainsKey(digest);
        }
    }

    /// <summary>Opens a committed blob for reading; the blob cannot be evicted until the reader is disposed. Touches LRU.</summary>
    public bool TryOpenRead(Digest digest, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlobReader? reader)
    {
        BlobEntry? entry;
        lock (_lock)
        {
            ThrowIfNotReady();
            if (!_blobs.TryGetValue(digest, out entry))
            {
                reader = null;
                return false;
            }

            entry.Readers++;
            TouchLocked(entry);
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(entry.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Someone removed it behind our back; forget it so the caller fetches it again.
            lock (_lock)
            {
                entry.Readers--;
                if (entry.Readers == 0 && _blobs.TryGetValue(digest, out var current) && ReferenceEquals(current, entry))
                {
                    _blobs.Remove(digest);
                    _usedBytes -= entry.Length;
                }
            }

            ContentStoreLog.CommittedBlobMissing(_logger, digest);
            reader = null;
            return false;
        }
        catch
        {
            ReleaseReader(entry);
            throw;
        }

        // mtime doubles as the persisted LRU clock, read back by InitializeAsync. Best effort.
        TrySetLastWriteTime(handle, null);
        reader = new BlobReader(this, entry, handle);
        return true;
    }

    /// <summary>
    /// Opens the partial blob for writing, resuming verified pieces left by an earlier run, or creates it.
    /// Reserves <paramref name="length"/> bytes, evicting least recently used idle blobs if needed.
    /// Throws <see cref="InvalidOperationException"/> if this digest is already open for writing,
    /// <see cref="StoreFullException"/> if the space cannot be found.
    /// </summary>
    public PartialBlob OpenPartial(Digest digest, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (digest.HashSizeInBytes == 0)
        {
            throw new ArgumentException("default(Digest) cannot name a blob", nameof(digest));
        }

        var layout = PieceLayout.For(length);
        var trash = new List<string>();
        PartialEntry entry;
        var resume = false;
        lock (_lock)
        {
            ThrowIfNotReady();
            if (_blobs.ContainsKey(digest))
            {
                throw new InvalidOperationException($"blob {digest} is already committed");
            }

            if (_partials.TryGetValue(digest, out var existing))
            {
                if (existing.IsOpen)
                {
                    throw new InvalidOperationException($"blob {digest} is already open for writing");
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
                ReserveLocked(length, trash);
                entry = new PartialEntry(digest, length, PartialDataPath(digest), PartialMetaPath(digest));
                _partials.Add(digest, entry);
            }

            entry.IsOpen = true;
            TouchLocked(entry);
        }

        DeleteTrash(trash);

        try
        {
            if (resume)
            {
                var resumed = PartialBlob.TryResume(this, entry, digest, layout, out var reason);
                if (resumed is not null)
                {
                    ContentStoreLog.ResumedPartial(_logger, digest, resumed.PresentPieceCount, layout.PieceCount);
                    return resumed;
                }

                ContentStoreLog.ResumeFailed(_logger, digest, reason!);
            }

            return PartialBlob.Create(this, entry, digest, layout);
        }
        catch
        {
            lock (_lock)
            {
                if (_partials.TryGetValue(digest, out var current) && ReferenceEquals(current, entry))
                {
                    _partials.Remove(digest);
                    _usedBytes -= entry.Length;
                }
            }

            TryDelete(entry.DataPath);
            TryDelete(entry.MetaPath);
            throw;
        }
    }

    /// <summary>Verifies and commits a small blob held in memory (manifests). Throws <see cref="DigestMismatchException"/>.</summary>
    public async Task PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (digest.HashSizeInBytes == 0)
        {
            throw new ArgumentException("default(Digest) cannot name a blob", nameof(digest));
        }

        VerifyContent(digest, content.Span);

        var trash = new List<string>();
        lock (_lock)
        {
            ThrowIfNotReady();
            if (_blobs.TryGetValue(digest, out var present))
            {
                TouchLocked(present);
                return;
            }

            ReserveLocked(content.Length, trash);
        }

        DeleteTrash(trash);
        trash.Clear();

        var tmpPath = NewTmpPath("put");
        var reserved = true;
        try
        {
            using (var handle = File.OpenHandle(tmpPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous))
            {
                await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
                RandomAccess.FlushToDisk(handle);
                TrySetLastWriteTime(handle, null);
            }

            lock (_lock)
            {
                if (!_blobs.ContainsKey(digest))
                {
                    var path = BlobPath(digest);
                    File.Move(tmpPath, path, overwrite: true);
                    var entry = new BlobEntry(digest, content.Length, path);
                    TouchLocked(entry);
                    _blobs.Add(digest, entry);
                    reserved = false;

                    // A stale partial of the same blob is now useless.
                    if (_partials.TryGetValue(digest, out var stale) && !stale.IsOpen)
                    {
                        _partials.Remove(digest);
                        _usedBytes -= stale.Length;
                        TrashPartialFilesLocked(stale, trash);
                    }
                }
            }
        }
        finally
        {
            if (reserved)
            {
                lock (_lock)
                {
                    _usedBytes -= content.Length;
                }

                TryDelete(tmpPath);
            }

            DeleteTrash(trash);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }
    }

    internal string BlobPath(Digest digest) => Path.Combine(_blobsDir, digest.Algorithm, digest.Hex);

    internal string PartialDataPath(Digest digest) => Path.Combine(_partialDir, $"{digest.Algorithm}-{digest.Hex}.data");

    internal string PartialMetaPath(Digest digest) => Path.Combine(_partialDir, $"{digest.Algorithm}-{digest.Hex}.meta");

    /// <summary>Moves a verified partial's data file into <c>blobs/</c>; returns the entry with a reader lease held for the partial.</summary>
    internal BlobEntry CommitPartial(PartialEntry partial)
    {
        var digest = partial.Digest;
        var trash = new List<string>();
        BlobEntry blob;
        lock (_lock)
        {
            if (_blobs.TryGetValue(digest, out var existing))
            {
                // PutAsync committed the same bytes meanwhile; ours are redundant.
                MoveToTrashLocked(partial.DataPath, trash);
                blob = existing;
                _usedBytes -= partial.Length;
            }
            else
            {
                File.Move(partial.DataPath, BlobPath(digest), overwrite: true);
                blob = new BlobEntry(digest, partial.Length, BlobPath(digest));
                _blobs.Add(digest, blob);
            }

            // After the rename: a crash in between leaves a meta without data, which recovery deletes.
            TryDelete(partial.MetaPath);
            if (_partials.TryGetValue(digest, out var current) && ReferenceEquals(current, partial))
            {
                _partials.Remove(digest);
            }

            blob.Readers++;
            TouchLocked(blob);
        }

        TrySetLastWriteTime(null, blob.Path);
        DeleteTrash(trash);
        return blob;
    }

    /// <summary>Deletes a partial's files and releases its reservation.</summary>
    internal void DiscardPartial(PartialEntry partial)
    {
        var trash = new List<string>();
        lock (_lock)
        {
            if (_partials.TryGetValue(partial.Digest, out var current) && ReferenceEquals(current, partial))
            {
                _partials.Remove(partial.Digest);
                _usedBytes -= partial.Length;
            }

            TrashPartialFilesLocked(partial, trash);
        }

        DeleteTrash(trash);
    }

    /// <summary>A partial was disposed: it becomes resumable (and evictable), or its committed blob's lease ends.</summary>
    internal void ClosePartial(PartialEntry partial, BlobEntry? committed)
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
        }
    }

    internal void ReleaseReader(BlobEntry entry)
    {
        lock (_lock)
        {
            entry.Readers--;
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Recovery deletes what is left on the next start.
        }
    }

    private static void VerifyContent(Digest digest, ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[Digest.MaxHashBytes];
        var written = digest.Algorithm == Digest.Sha256 ? SHA256.HashData(content, hash) : SHA512.HashData(content, hash);
        if (!digest.Matches(hash[..written]))
        {
            throw new DigestMismatchException(digest, Digest.FromHash(digest.Algorithm, hash[..written]));
        }
    }

    private void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            throw new InvalidOperationException("ContentStore.InitializeAsync must complete before the store is used");
        }
    }

    private void TouchLocked(BlobEntry entry)
    {
        entry.LastAccess = _time.GetUtcNow().UtcTicks;
        entry.Sequence = ++_accessSequence;
    }

    private void TouchLocked(PartialEntry entry)
    {
        entry.LastAccess = _time.GetUtcNow().UtcTicks;
        entry.Sequence = ++_accessSequence;
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/>, evicting least recently used idle blobs and closed partials if needed.
    /// Evicts nothing when even evicting everything idle would not make room.
    /// </summary>
    private void ReserveLocked(long bytes, List<string> trash)
    {
        if (bytes > _quota)
        {
            throw new StoreFullException(bytes, _quota);
        }

        if (_usedBytes + bytes <= _quota)
        {
            _usedBytes += bytes;
            return;
        }

        var candidates = new List<EvictionCandidate>();
        foreach (var blob in _blobs.Values)
        {
            if (blob.Readers == 0)
            {
                candidates.Add(new EvictionCandidate(blob.LastAccess, blob.Sequence, blob.Length, blob, null));
            }
        }

        foreach (var partial in _partials.Values)
        {
            if (!partial.IsOpen)
            {
                candidates.Add(new EvictionCandidate(partial.LastAccess, partial.Sequence, partial.Length, null, partial));
            }
        }

        candidates.Sort(static (a, b) => a.LastAccess != b.LastAccess ? a.LastAccess.CompareTo(b.LastAccess) : a.Sequence.CompareTo(b.Sequence));

        long freed = 0;
        var take = 0;
        while (take < candidates.Count && _usedBytes - freed + bytes > _quota)
        {
            freed += candidates[take].Length;
            take++;
        }

        if (_usedBytes - freed + bytes > _quota)
        {
            throw new StoreFullException(bytes, _quota);
        }

        for (var i = 0; i < take; i++)
        {
            var victim = candidates[i];
            if (victim.Blob is { } blob)
            {
                _blobs.Remove(blob.Digest);
                MoveToTrashLocked(blob.Path, trash);
                ContentStoreLog.Evicted(_logger, "blob", blob.Digest, blob.Length, bytes);
            }
            else
            {
                var partial = victim.Partial!;
                _partials.Remove(partial.Digest);
                TrashPartialFilesLocked(partial, trash);
                ContentStoreLog.Evicted(_logger, "partial blob", partial.Digest, partial.Length, bytes);
            }

            _usedBytes -= victim.Length;
            Interlocked.Increment(ref _evictions);
        }

        _usedBytes += bytes;
    }

    private void TrashPartialFilesLocked(PartialEntry partial, List<string> trash)
    {
        MoveToTrashLocked(partial.DataPath, trash);
        MoveToTrashLocked(partial.MetaPath, trash);
        TryDelete(partial.MetaPath + ".tmp");
    }

    private void MoveToTrashLocked(string path, List<string> trash)
    {
        var destination = NewTmpPath("trash");
        try
        {
            File.Move(path, destination);
            trash.Add(destination);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Already gone.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ContentStoreLog.DeleteFailed(_logger, path, ex);
            TryDelete(path);
        }
    }

    private void DeleteTrash(List<string> trash)
    {
        foreach (var path in trash)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ContentStoreLog.DeleteFailed(_logger, path, ex);
            }
        }
    }

    private string NewTmpPath(string kind) =>
        Path.Combine(_tmpDir, $"{kind}-{Environment.ProcessId}-{Interlocked.Increment(ref _tmpSequence)}");

    private void TrySetLastWriteTime(SafeFileHandle? handle, string? path)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        try
        {
            if (handle is not null)
            {
                File.SetLastWriteTimeUtc(handle, now);
            }
            else
            {
                File.SetLastWriteTimeUtc(path!, now);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only the LRU order after a restart suffers.
        }
    }

    private void ScanBlobs(Dictionary<Digest, BlobEntry> blobs)
    {
        foreach (var algorithmEntry in new DirectoryInfo(_blobsDir).GetFileSystemInfos())
        {
            if (algorithmEntry is not DirectoryInfo algorithmDir || Digest.HashSizeOf(algorithmEntry.Name) == 0)
            {
                DeleteInvalid(algorithmEntry, "not a supported digest algorithm directory");
                continue;
            }

            foreach (var item in algorithmDir.GetFileSystemInfos())
            {
                if (item is not FileInfo file)
                {
                    DeleteInvalid(item, "directories do not belong here");
                    continue;
                }

                if (!Digest.TryParse($"{algorithmDir.Name}:{file.Name}", out var digest))
                {
                    DeleteInvalid(item, "file name is not a valid digest");
                    continue;
                }

                // Trusted without re-hashing: only a verified rename puts a file here.
                var entry = new BlobEntry(digest, file.Length, file.FullName)
                {
                    LastAccess = file.LastWriteTimeUtc.Ticks,
                };
                blobs.Add(digest, entry);
            }
        }
    }

    private void DeleteInvalid(FileSystemInfo item, string reason)
    {
        ContentStoreLog.RecoveryDeletedInvalidEntry(_logger, item.FullName, reason);
        try
        {
            if (item is DirectoryInfo dir)
            {
                dir.Delete(recursive: true);
            }
            else
            {
                item.Delete();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ContentStoreLog.DeleteFailed(_logger, item.FullName, ex);
        }
    }

    private async Task ScanPartialsAsync(Dictionary<Digest, BlobEntry> blobs, Dictionary<Digest, PartialEntry> partials, CancellationToken cancellationToken)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var item in new DirectoryInfo(_partialDir).GetFileSystemInfos())
        {
            var name = item.Name;
            if (item is DirectoryInfo)
            {
                DeleteInvalid(item, "directories do not belong here");
            }
            else if (name.EndsWith(".meta.tmp", StringComparison.Ordinal))
            {
                // An interrupted meta rewrite; the previous .meta is still whole.
                TryDelete(item.FullName);
            }
            else if (name.EndsWith(".data", StringComparison.Ordinal) || name.EndsWith(".meta", StringComparison.Ordinal))
            {
                names.Add(name[..^5]);
            }
            else
            {
                DeleteInvalid(item, "not a partial blob file");
            }
        }

        foreach (var baseName in names)
        {
            var dataPath = Path.Combine(_partialDir, baseName + ".data");
            var metaPath = Path.Combine(_partialDir, baseName + ".meta");
            var reason = await RecoverPartialAsync(baseName, dataPath, metaPath, blobs, partials, cancellationToken).ConfigureAwait(false);
            if (reason is not null)
            {
                ContentStoreLog.RecoveryDiscardedPartial(_logger, baseName, reason);
                TryDelete(dataPath);
                TryDelete(metaPath);
            }
        }
    }

    /// <summary>Returns null when the partial was kept, else why it must be deleted.</summary>
    private async Task<string?> RecoverPartialAsync(
        string baseName,
        string dataPath,
        string metaPath,
        Dictionary<Digest, BlobEntry> blobs,
        Dictionary<Digest, PartialEntry> partials,
        CancellationToken cancellationToken)
    {
        var dash = baseName.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0 || !Digest.TryParse(string.Concat(baseName.AsSpan(0, dash), ":", baseName.AsSpan(dash + 1)), out var digest))
        {
            return "file name is not <algorithm>-<hex>";
        }

        if (blobs.ContainsKey(digest))
        {
            return "the blob is already committed";
        }

        var dataInfo = new FileInfo(dataPath);
        var metaInfo = new FileInfo(metaPath);
        if (!metaInfo.Exists)
        {
            return "meta file is missing";
        }

        if (!dataInfo.Exists)
        {
            return "data file is missing";
        }

        if (metaInfo.Length > MaxMetaBytes)
        {
            return $"meta file is implausibly large ({metaInfo.Length} bytes)";
        }

        try
        {
            var metaBytes = await File.ReadAllBytesAsync(metaPath, cancellationToken).ConfigureAwait(false);
            var error = PartialMeta.TryRead(metaBytes, out var metaDigest, out var layout, out var bitmap, out var pieceHashes);
            if (error is not null)
            {
                return error;
            }

            if (metaDigest != digest)
            {
                return $"meta names {metaDigest}, not the digest in its file name";
            }

            if (dataInfo.Length != layout.Length)
            {
                return $"data file is {dataInfo.Length} bytes, meta says {layout.Length}";
            }

            var cleared = await VerifyPresentPiecesAsync(digest, dataPath, layout, bitmap!, pieceHashes!, cancellationToken).ConfigureAwait(false);
            if (cleared > 0)
            {
                var buffer = new byte[PartialMeta.SizeFor(layout.PieceCount)];
                PartialMeta.Write(buffer, digest, layout, bitmap!, pieceHashes);
                PartialMeta.WriteAtomically(metaPath, buffer);
            }

            partials.Add(digest, new PartialEntry(digest, layout.Length, dataPath, metaPath)
            {
                LastAccess = metaInfo.LastWriteTimeUtc.Ticks,
            });
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"could not be read: {ex.Message}";
        }
    }

    /// <summary>Re-hashes every present piece; clears (and zeroes the hash of) pieces whose bytes changed. Returns how many.</summary>
    private async Task<int> VerifyPresentPiecesAsync(Digest digest, string dataPath, PieceLayout layout, PieceBitmap bitmap, byte[] pieceHashes, CancellationToken cancellationToken)
    {
        var cleared = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(FileHashing.BufferSize);
        try
        {
            using var handle = File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var actual = new byte[PartialMeta.PieceHashSize];
            for (var i = 0; i < layout.PieceCount; i++)
            {
                if (!bitmap[i])
                {
                    continue;
                }

                await FileHashing.HashRangeAsync(handle, layout.OffsetOf(i), layout.LengthOf(i), buffer, hasher, cancellationToken).ConfigureAwait(false);
                hasher.GetHashAndReset(actual);
                var recorded = pieceHashes.AsSpan(i * PartialMeta.PieceHashSize, PartialMeta.PieceHashSize);
                if (!CryptographicOperations.FixedTimeEquals(actual, recorded))
                {
                    ContentStoreLog.RecoveryPieceFailedVerification(_logger, digest, i);
                    bitmap.Clear(i);
                    recorded.Clear();
                    cleared++;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return cleared;
    }

    private readonly record struct EvictionCandidate(long LastAccess, long Sequence, long Length, BlobEntry? Blob, PartialEntry? Partial);
}

/// <summary>Index entry of a committed blob; mutable fields are guarded by the store lock.</summary>
internal sealed class BlobEntry(Digest digest, long length, string path)
{
    public Digest Digest { get; } = digest;
    public long Length { get; } = length;
    public string Path { get; } = path;
    public long LastAccess { get; set; }
    public long Sequence { get; set; }
    public int Readers { get; set; }
}

/// <summary>Index entry of a partial blob on disk; mutable fields are guarded by the store lock.</summary>
internal sealed class PartialEntry(Digest digest, long length, string dataPath, string metaPath)
{
    public Digest Digest { get; } = digest;
    public long Length { get; } = length;
    public string DataPath { get; } = dataPath;
    public string MetaPath { get; } = metaPath;
    public long LastAccess { get; set; }
    public long Sequence { get; set; }
    public bool IsOpen { get; set; }
}

internal static class FileHashing
{
    public const int BufferSize = 1024 * 1024;

    /// <summary>Feeds <paramref name="length"/> bytes at <paramref name="offset"/> into <paramref name="hasher"/>.</summary>
    public static async ValueTask HashRangeAsync(SafeFileHandle handle, long offset, long length, byte[] buffer, IncrementalHash hasher, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            var want = (int)Math.Min(buffer.Length, length);
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException($"file ended at {offset}, {length} bytes short");
            }

            hasher.AppendData(buffer, 0, read);
            offset += read;
            length -= read;
        }
    }
}
