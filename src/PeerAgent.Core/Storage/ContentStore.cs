using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Disk content store. Committed blobs live at <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c> and are only ever renamed there
/// after their whole-blob digest verified, with optional metadata (media type, piece digests) at
/// <c>meta/&lt;alg&gt;/&lt;hex&gt;</c> that is counted, evicted and recovered with its blob. Partial blobs live under
/// <c>partial/</c> with a persisted piece bitmap.
/// </summary>
/// <remarks>
/// The parts: <see cref="StoreLayout"/> (paths, temp names, trash), <see cref="StoreIndex"/> (what is stored, the
/// bytes it uses, LRU eviction; its lock is never held across blob data I/O), <see cref="StoreRecovery"/> (the
/// start-up scan), <see cref="BlobMetaFiles"/> (committed blobs' metadata) and <see cref="PartialBlob"/> (a blob
/// being written).
/// </remarks>
public sealed class ContentStore : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreLayout _layout;
    private readonly StoreIndex _index;
    private readonly BlobMetaFiles _meta;
    private readonly long _quota;

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
        _quota = options.QuotaBytes;
        _layout = new StoreLayout(Path.GetFullPath(options.RootPath), _time, _logger);
        _index = new StoreIndex(_layout, _quota, _time, _logger);
        _meta = new BlobMetaFiles(_layout, _index, _logger);
    }

    /// <summary>Full path of the store root.</summary>
    public string RootPath => _layout.Root;

    public long UsedBytes => _index.UsedBytes;

    public long QuotaBytes => _quota;

    public int BlobCount => _index.BlobCount;

    public long EvictionCount => _index.EvictionCount;

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    internal StoreLayout Layout => _layout;

    /// <summary>Recovers after a crash: deletes temp files, indexes committed blobs, verifies partial pieces against their recorded digests.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        _index.ThrowIfInitializedOrDisposed();
        var (blobs, partials) = await new StoreRecovery(_layout, _logger).RunAsync(cancellationToken).ConfigureAwait(false);
        var used = _index.Load(blobs, partials);
        ContentStoreLog.Recovered(_logger, _layout.Root, blobs.Count, partials.Count, used, _quota);
        if (used > _quota)
        {
            ContentStoreLog.OverQuotaAfterRecovery(_logger, used, _quota);
        }
    }

    public bool Contains(Digest digest) => _index.ContainsBlob(digest);

    /// <summary>Opens a committed blob for reading; the blob cannot be evicted until the reader is disposed. Touches LRU.</summary>
    public bool TryOpenRead(Digest digest, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlobReader? reader)
    {
        var entry = _index.TryLeaseBlob(digest);
        if (entry is null)
        {
            reader = null;
            return false;
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(entry.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Someone removed it behind our back; forget it so the caller fetches it again.
            var trash = new List<string>();
            _index.ForgetMissingBlob(digest, entry, trash);
            _layout.DeleteTrash(trash);
            ContentStoreLog.CommittedBlobMissing(_logger, digest);
            reader = null;
            return false;
        }
        catch
        {
            _index.ReleaseReader(entry);
            throw;
        }

        // mtime doubles as the persisted LRU clock, read back by InitializeAsync. Best effort.
        _layout.TrySetLastWriteTime(handle, null);
        reader = new BlobReader(this, entry, handle);
        return true;
    }

    /// <summary>
    /// Opens the partial blob for writing, resuming verified pieces left by an earlier writer, or creates it,
    /// reserving <paramref name="length"/> bytes (evicting least recently used idle blobs if needed).
    /// </summary>
    /// <returns>
    /// <see cref="PartialOpenResult.Opened"/> with <paramref name="partial"/> set (dispose it); otherwise why not:
    /// the blob is committed, another writer holds it (see <see cref="WhenPartialClosedAsync"/>), or there is no
    /// room (the store logs why). Disk errors creating the files still throw.
    /// </returns>
    public PartialOpenResult TryOpenPartial(Digest digest, long length, out PartialBlob? partial)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (digest.HashSizeInBytes == 0)
        {
            throw new ArgumentException("default(Digest) cannot name a blob", nameof(digest));
        }

        partial = null;
        var layout = PieceLayout.For(length);
        var trash = new List<string>();
        var result = _index.TryBeginPartial(digest, length, trash, out var entry, out var resume);
        _layout.DeleteTrash(trash);
        if (result != PartialOpenResult.Opened)
        {
            return result;
        }

        try
        {
            if (resume)
            {
                partial = PartialBlob.TryResume(this, entry!, digest, layout, out var reason);
                if (partial is not null)
                {
                    ContentStoreLog.ResumedPartial(_logger, digest, partial.PresentPieceCount, layout.PieceCount);
                    return result;
                }

                ContentStoreLog.ResumeFailed(_logger, digest, reason!);
            }

            partial = PartialBlob.Create(this, entry!, digest, layout);
            return result;
        }
        catch
        {
            _index.ForgetPartial(entry!);
            StoreLayout.TryDelete(entry!.DataPath);
            StoreLayout.TryDelete(entry.MetaPath);
            throw;
        }
    }

    /// <summary>
    /// Completes when no writer holds the partial blob of <paramref name="digest"/>: at once if none does, else when
    /// its writer disposes, discards or commits it. Then <see cref="TryOpenPartial"/> may be tried again.
    /// </summary>
    public Task WhenPartialClosedAsync(Digest digest, CancellationToken cancellationToken) =>
        _index.WhenPartialClosed(digest).WaitAsync(cancellationToken);

    /// <summary>Verifies and commits a small blob held in memory. Throws <see cref="DigestMismatchException"/>.</summary>
    public Task PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        PutAsync(digest, content, mediaType: null, cancellationToken);

    /// <summary>
    /// Verifies and commits a small blob held in memory (manifests), recording <paramref name="mediaType"/> in its
    /// metadata when given (also for a blob already committed without it). Throws <see cref="DigestMismatchException"/>,
    /// and <see cref="StoreFullException"/> when there is no room.
    /// </summary>
    public async Task PutAsync(Digest digest, ReadOnlyMemory<byte> content, string? mediaType, CancellationToken cancellationToken)
    {
        if (digest.HashSizeInBytes == 0)
        {
            throw new ArgumentException("default(Digest) cannot name a blob", nameof(digest));
        }

        VerifyContent(digest, content.Span);
        var meta = mediaType is null ? null : BlobMeta.Create(digest, content.Length, mediaType, default, withPieceHashes: false);
        var reservation = content.Length + (meta?.Length ?? 0);

        var trash = new List<string>();
        if (!_index.TryReserveNewBlob(digest, reservation, trash))
        {
            if (mediaType is not null)
            {
                _meta.Update(digest, mediaType, default, setPieceHashes: false);
            }

            return;
        }

        _layout.DeleteTrash(trash);
        trash.Clear();

        var tmpPath = _layout.NewTmpPath("put");
        string? metaTmpPath = null;
        var reserved = true;
        try
        {
            using (var handle = File.OpenHandle(tmpPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous))
            {
                await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
                RandomAccess.FlushToDisk(handle);
                _layout.TrySetLastWriteTime(handle, null);
            }

            metaTmpPath = meta is null ? null : _meta.TryWriteTemp(digest, meta);
            reserved = !_index.CommitVerifiedFile(digest, tmpPath, content.Length, metaTmpPath, meta?.Length ?? 0, mediaType, trash);
        }
        finally
        {
            if (reserved)
            {
                _index.Unreserve(reservation);
                StoreLayout.TryDelete(tmpPath);
            }

            if (metaTmpPath is not null)
            {
                StoreLayout.TryDelete(metaTmpPath);
            }

            _layout.DeleteTrash(trash);
        }

        if (reserved && mediaType is not null)
        {
            // Committed by someone else meanwhile, perhaps without a media type.
            _meta.Update(digest, mediaType, default, setPieceHashes: false);
        }
    }

    /// <summary>The media type recorded for a committed blob (see <see cref="PutAsync(Digest, ReadOnlyMemory{byte}, string?, CancellationToken)"/>); false if it has none.</summary>
    public bool TryGetMediaType(Digest digest, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? mediaType) =>
        _index.TryGetBlob(digest, out _, out mediaType, out _) && mediaType is not null;

    /// <summary>
    /// The sha256 of every piece of a committed blob, 32 bytes per piece in the order of
    /// <see cref="PieceLayout.For"/>(its length); false if they are not recorded (compute them and call
    /// <see cref="SetPieceDigests"/>). Reads the metadata file; callers that need them often should hold on to them.
    /// </summary>
    public bool TryGetPieceDigests(Digest digest, out ReadOnlyMemory<byte> sha256s) => _meta.TryReadPieceDigests(digest, out sha256s);

    /// <summary>
    /// Records the piece digests of a committed blob that has none yet (computed from its bytes by the caller:
    /// 32 bytes per piece of <see cref="PieceLayout.For"/>(its length)). Best effort: nothing happens when the blob
    /// is gone or already has them, or there is no room for them.
    /// </summary>
    public void SetPieceDigests(Digest digest, ReadOnlySpan<byte> sha256s)
    {
        if (!_index.TryGetBlob(digest, out var entry, out _, out var hasPieceDigests) || hasPieceDigests)
        {
            return;
        }

        var expected = (long)PieceLayout.For(entry.Length).PieceCount * BlobMeta.PieceHashSize;
        if (sha256s.Length != expected)
        {
            throw new ArgumentException($"{digest} is {entry.Length} bytes: its piece digests are {expected} bytes, got {sha256s.Length}", nameof(sha256s));
        }

        _meta.Update(digest, null, sha256s, setPieceHashes: true);
    }

    public void Dispose() => _index.MarkDisposed();

    /// <summary>
    /// Moves a verified partial's data file into <c>blobs/</c> and records its piece digests in the blob's metadata;
    /// returns the entry with a reader lease held for the partial.
    /// </summary>
    internal BlobEntry CommitPartial(PartialEntry partial, byte[] pieceHashes)
    {
        // Without it (a write failed) the blob commits anyway; peers then hash its pieces from disk once.
        var meta = BlobMeta.Create(partial.Digest, partial.Length, null, pieceHashes, withPieceHashes: true);
        var metaTmpPath = _meta.TryWriteTemp(partial.Digest, meta);
        var trash = new List<string>();
        BlobEntry blob;
        bool created;
        try
        {
            blob = _index.CommitPartial(partial, metaTmpPath, meta.Length, trash, out created);
        }
        finally
        {
            if (metaTmpPath is not null)
            {
                StoreLayout.TryDelete(metaTmpPath);
            }
        }

        _layout.TrySetLastWriteTime(null, blob.Path);
        _layout.DeleteTrash(trash);
        if (!created)
        {
            // Someone else committed the same bytes first, perhaps without piece digests.
            SetPieceDigests(partial.Digest, pieceHashes);
        }

        return blob;
    }

    /// <summary>Deletes a partial's files and releases its reservation.</summary>
    internal void DiscardPartial(PartialEntry partial)
    {
        var trash = new List<string>();
        _index.DiscardPartial(partial, trash);
        _layout.DeleteTrash(trash);
    }

    /// <summary>A partial was disposed: it becomes resumable (and evictable), or its committed blob's lease ends.</summary>
    internal void ClosePartial(PartialEntry partial, BlobEntry? committed) => _index.ClosePartial(partial, committed);

    internal void ReleaseReader(BlobEntry entry) => _index.ReleaseReader(entry);

    private static void VerifyContent(Digest digest, ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[Digest.MaxHashBytes];
        var written = digest.Algorithm == Digest.Sha256 ? SHA256.HashData(content, hash) : SHA512.HashData(content, hash);
        if (!digest.Matches(hash[..written]))
        {
            throw new DigestMismatchException(digest, Digest.FromHash(digest.Algorithm, hash[..written]));
        }
    }
}
