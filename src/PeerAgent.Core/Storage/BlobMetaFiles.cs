using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Reads and rewrites the metadata files of committed blobs (<see cref="BlobMeta"/>). Metadata is optional: a
/// file that cannot be written or read back costs the metadata (logged), never the blob.
/// </summary>
/// <remarks>
/// New files are written to <c>tmp/</c>; <see cref="StoreIndex"/> renames them into place under its lock, so the
/// index (which also counts them in the quota) never disagrees with <c>meta/</c>.
/// </remarks>
internal sealed class BlobMetaFiles(StoreLayout layout, StoreIndex index, ILogger logger)
{
    // Serializes rewrites (rare: about once per blob), so two never lose each other's fields.
    private readonly Lock _writeLock = new();

    /// <summary>Writes <paramref name="meta"/> to a new temp file for the index to rename into place; null if that failed.</summary>
    public string? TryWriteTemp(Digest digest, byte[] meta)
    {
        var tmpPath = layout.NewTmpPath("meta");
        try
        {
            File.WriteAllBytes(tmpPath, meta);
            return tmpPath;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ContentStoreLog.BlobMetaWriteFailed(logger, digest, ex);
            StoreLayout.TryDelete(tmpPath);
            return null;
        }
    }

    /// <summary>The recorded piece digests of a committed blob; false if it has none or they do not read back whole.</summary>
    public bool TryReadPieceDigests(Digest digest, out ReadOnlyMemory<byte> sha256s)
    {
        sha256s = default;
        if (!index.TryGetBlob(digest, out var entry, out _, out var hasPieceDigests) || !hasPieceDigests)
        {
            return false;
        }

        string? error;
        try
        {
            var bytes = File.ReadAllBytes(entry.MetaPath);
            error = BlobMeta.TryRead(bytes, out var metaDigest, out var length, out _, out var hasPieceHashes, out var pieceHashes);
            if (error is null && (metaDigest != digest || length != entry.Length || !hasPieceHashes))
            {
                error = "it describes another blob or holds no piece digests";
            }

            sha256s = pieceHashes;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false; // evicted meanwhile
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
        }

        if (error is not null)
        {
            // Let them be set anew (the media type is kept from memory).
            ContentStoreLog.BlobMetaUnusable(logger, digest, error);
            index.ForgetPieceDigests(entry);
            sha256s = default;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Rewrites a committed blob's metadata with <paramref name="mediaType"/> (null keeps the current one) and, when
    /// <paramref name="setPieceHashes"/> and it has none, the given piece digests (else keeps the current ones).
    /// Nothing happens when the blob is gone, nothing would change, or there is no room.
    /// </summary>
    public void Update(Digest digest, string? mediaType, ReadOnlySpan<byte> pieceHashes, bool setPieceHashes)
    {
        var trash = new List<string>();
        lock (_writeLock)
        {
            if (!index.TryGetBlob(digest, out var entry, out var currentMediaType, out var hasPieceDigests))
            {
                return;
            }

            var newMediaType = mediaType ?? currentMediaType;
            setPieceHashes &= !hasPieceDigests;
            if (newMediaType == currentMediaType && !setPieceHashes)
            {
                return;
            }

            if (!setPieceHashes && hasPieceDigests && TryReadPieceDigests(digest, out var current))
            {
                pieceHashes = current.Span;
                setPieceHashes = true;
            }

            var meta = BlobMeta.Create(digest, entry.Length, newMediaType, pieceHashes, setPieceHashes);
            if (TryWriteTemp(digest, meta) is not { } tmpPath)
            {
                return;
            }

            try
            {
                index.TryReplaceMeta(entry, tmpPath, meta.Length, newMediaType, setPieceHashes, trash);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ContentStoreLog.BlobMetaWriteFailed(logger, digest, ex);
            }
            finally
            {
                StoreLayout.TryDelete(tmpPath);
            }
        }

        layout.DeleteTrash(trash);
    }
}
