using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Where the store's files live under its root, and the file moves every part shares: temp names, moving
/// evicted files into <c>tmp/</c> ("trash") and unlinking them later, the persisted LRU clock.
/// </summary>
internal sealed class StoreLayout
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _tmpSequence;

    public StoreLayout(string root, TimeProvider time, ILogger logger)
    {
        Root = root;
        BlobsDir = Path.Combine(root, "blobs");
        PartialDir = Path.Combine(root, "partial");
        MetaDir = Path.Combine(root, "meta");
        TmpDir = Path.Combine(root, "tmp");
        _time = time;
        _logger = logger;
    }

    public string Root { get; }

    public string BlobsDir { get; }

    public string PartialDir { get; }

    public string TmpDir { get; }

    /// <summary>Per-blob metadata (<see cref="BlobMeta"/>), named like <c>blobs/</c>.</summary>
    public string MetaDir { get; }

    public string BlobPath(Digest digest) => Path.Combine(BlobsDir, digest.Algorithm, digest.Hex);

    public string BlobMetaPath(Digest digest) => Path.Combine(MetaDir, digest.Algorithm, digest.Hex);

    public string PartialDataPath(Digest digest) => Path.Combine(PartialDir, $"{digest.Algorithm}-{digest.Hex}.data");

    public string PartialMetaPath(Digest digest) => Path.Combine(PartialDir, $"{digest.Algorithm}-{digest.Hex}.meta");

    public string NewTmpPath(string kind) =>
        Path.Combine(TmpDir, $"{kind}-{Environment.ProcessId}-{Interlocked.Increment(ref _tmpSequence)}");

    /// <summary>
    /// Renames <paramref name="path"/> into <c>tmp/</c> and adds it to <paramref name="trash"/> for
    /// <see cref="DeleteTrash"/>. Called under the index lock: a rename is quick, and a later re-commit of the
    /// same digest cannot race the slow unlink.
    /// </summary>
    public void MoveToTrash(string path, List<string> trash)
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

    /// <summary>Unlinks what <see cref="MoveToTrash"/> collected; called outside the index lock.</summary>
    public void DeleteTrash(List<string> trash)
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

    /// <summary>Stamps the file's mtime, which doubles as the persisted LRU clock read back by recovery. Best effort.</summary>
    public void TrySetLastWriteTime(SafeFileHandle? handle, string? path)
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

    public static void TryDelete(string path)
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
}
