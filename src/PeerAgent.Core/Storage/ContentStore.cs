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
/// The parts: <see cref="StoreLayout"/> (paths, temp names, trash), <see cref="StoreIndex"/> (what is stored, the
/// bytes it uses, LRU eviction; its lock is never held across blob data I/O), <see cref="StoreRecovery"/> (the
/// start-up scan) and <see cref="PartialBlob"/> (a blob being written).
/// </remarks>
public sealed class ContentStore : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreLayout _layout;
    private readonly StoreIndex _index;
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
            _index.ForgetMissingBlob(digest, entry);
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

    /// <summary>Verifies and commits a small blob held in memory (manifests). Throws <see cref="DigestMismatchException"/>.</summary>
    public async Task PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (digest.HashSizeInBytes == 0)
        {
            throw new ArgumentException("default(Digest) cannot name a blob", nameof(digest));
        }

        VerifyContent(digest, content.Span);

        var trash = new List<string>();
        if (!_index.TryReserveNewBlob(digest, content.Length, trash))
        {
            return;
        }

        _layout.DeleteTrash(trash);
        trash.Clear();

        var tmpPath = _layout.NewTmpPath("put");
        var reserved = true;
        try
        {
            using (var handle = File.OpenHandle(tmpPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous))
            {
                await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
                RandomAccess.FlushToDisk(handle);
                _layout.TrySetLastWriteTime(handle, null);
            }

            reserved = !_index.CommitVerifiedFile(digest, tmpPath, content.Length, trash);
        }
        finally
        {
            if (reserved)
            {
                _index.Unreserve(content.Length);
                StoreLayout.TryDelete(tmpPath);
            }

            _layout.DeleteTrash(trash);
        }
    }

    public void Dispose() => _index.MarkDisposed();

    /// <summary>Moves a verified partial's data file into <c>blobs/</c>; returns the entry with a reader lease held for the partial.</summary>
    internal BlobEntry CommitPartial(PartialEntry partial)
    {
        var trash = new List<string>();
        var blob = _index.CommitPartial(partial, trash);
        _layout.TrySetLastWriteTime(null, blob.Path);
        _layout.DeleteTrash(trash);
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
