using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Start-up recovery after a crash: empties <c>tmp/</c>, indexes <c>blobs/</c> with the metadata in <c>meta/</c> that
/// is whole and whose blob is there, and keeps only partials whose meta is whole and whose present pieces still hash
/// to what the meta recorded. Deletes whatever it cannot trust.
/// </summary>
internal sealed class StoreRecovery(StoreLayout layout, ILogger logger)
{
    /// <summary>A meta file this large is not one of ours (a million pieces is ~33 MB).</summary>
    private const long MaxMetaBytes = 64L * 1024 * 1024;

    /// <summary>A blob metadata file this large is not one of ours (piece digests of a 64 GiB blob are 32 KB).</summary>
    private const long MaxBlobMetaBytes = 16L * 1024 * 1024;

    /// <summary>Prepares the directories and returns what may be indexed.</summary>
    public async Task<(Dictionary<Digest, BlobEntry> Blobs, Dictionary<Digest, PartialEntry> Partials)> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(layout.Root);

        // Whatever is in tmp/ is an unfinished PutAsync or an eviction that had not been unlinked yet.
        if (Directory.Exists(layout.TmpDir))
        {
            Directory.Delete(layout.TmpDir, recursive: true);
        }

        Directory.CreateDirectory(layout.TmpDir);
        Directory.CreateDirectory(layout.BlobsDir);
        Directory.CreateDirectory(layout.PartialDir);
        Directory.CreateDirectory(layout.MetaDir);

        var blobs = new Dictionary<Digest, BlobEntry>();
        ScanBlobs(blobs);
        await ScanBlobMetaAsync(blobs, cancellationToken).ConfigureAwait(false);
        foreach (var directory in new[] { layout.BlobsDir, layout.MetaDir })
        {
            Directory.CreateDirectory(Path.Combine(directory, Digest.Sha256));
            Directory.CreateDirectory(Path.Combine(directory, Digest.Sha512));
        }

        var partials = new Dictionary<Digest, PartialEntry>();
        await ScanPartialsAsync(blobs, partials, cancellationToken).ConfigureAwait(false);
        return (blobs, partials);
    }

    private void ScanBlobs(Dictionary<Digest, BlobEntry> blobs)
    {
        foreach (var algorithmEntry in new DirectoryInfo(layout.BlobsDir).GetFileSystemInfos())
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
                var entry = new BlobEntry(digest, file.Length, file.FullName, layout.BlobMetaPath(digest))
                {
                    LastAccess = file.LastWriteTimeUtc.Ticks,
                };
                blobs.Add(digest, entry);
            }
        }
    }

    /// <summary>Attaches each whole metadata file to its blob; deletes the rest. A blob without metadata is fine.</summary>
    private async Task ScanBlobMetaAsync(Dictionary<Digest, BlobEntry> blobs, CancellationToken cancellationToken)
    {
        foreach (var algorithmEntry in new DirectoryInfo(layout.MetaDir).GetFileSystemInfos())
        {
            if (algorithmEntry is not DirectoryInfo algorithmDir || Digest.HashSizeOf(algorithmEntry.Name) == 0)
            {
                DeleteInvalid(algorithmEntry, "not a supported digest algorithm directory");
                continue;
            }

            foreach (var item in algorithmDir.GetFileSystemInfos())
            {
                if (item is not FileInfo file || !Digest.TryParse($"{algorithmDir.Name}:{file.Name}", out var digest))
                {
                    DeleteInvalid(item, "not a metadata file named by a digest");
                    continue;
                }

                var reason = blobs.TryGetValue(digest, out var blob)
                    ? await AttachBlobMetaAsync(blob, file, cancellationToken).ConfigureAwait(false)
                    : "its blob is missing";
                if (reason is not null)
                {
                    ContentStoreLog.RecoveryDeletedBlobMeta(logger, file.FullName, reason);
                    StoreLayout.TryDelete(file.FullName);
                }
            }
        }
    }

    /// <summary>Returns null when the metadata was attached to <paramref name="blob"/>, else why it must be deleted.</summary>
    private static async Task<string?> AttachBlobMetaAsync(BlobEntry blob, FileInfo file, CancellationToken cancellationToken)
    {
        if (file.Length > MaxBlobMetaBytes)
        {
            return $"metadata is implausibly large ({file.Length} bytes)";
        }

        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"could not be read: {ex.Message}";
        }

        var error = BlobMeta.TryRead(bytes, out var digest, out var length, out var mediaType, out var hasPieceHashes, out _);
        if (error is not null)
        {
            return error;
        }

        if (digest != blob.Digest || length != blob.Length)
        {
            return $"metadata describes {digest} of {length} bytes, the blob is {blob.Length} bytes";
        }

        blob.MetaLength = bytes.Length;
        blob.MediaType = mediaType;
        blob.HasPieceDigests = hasPieceHashes;
        return null;
    }

    private void DeleteInvalid(FileSystemInfo item, string reason)
    {
        ContentStoreLog.RecoveryDeletedInvalidEntry(logger, item.FullName, reason);
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
            ContentStoreLog.DeleteFailed(logger, item.FullName, ex);
        }
    }

    private async Task ScanPartialsAsync(Dictionary<Digest, BlobEntry> blobs, Dictionary<Digest, PartialEntry> partials, CancellationToken cancellationToken)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var item in new DirectoryInfo(layout.PartialDir).GetFileSystemInfos())
        {
            var name = item.Name;
            if (item is DirectoryInfo)
            {
                DeleteInvalid(item, "directories do not belong here");
            }
            else if (name.EndsWith(".meta.tmp", StringComparison.Ordinal))
            {
                // An interrupted meta rewrite; the previous .meta is still whole.
                StoreLayout.TryDelete(item.FullName);
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
            var dataPath = Path.Combine(layout.PartialDir, baseName + ".data");
            var metaPath = Path.Combine(layout.PartialDir, baseName + ".meta");
            var reason = await RecoverPartialAsync(baseName, dataPath, metaPath, blobs, partials, cancellationToken).ConfigureAwait(false);
            if (reason is not null)
            {
                ContentStoreLog.RecoveryDiscardedPartial(logger, baseName, reason);
                StoreLayout.TryDelete(dataPath);
                StoreLayout.TryDelete(metaPath);
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
            var error = PartialMeta.TryRead(metaBytes, out var metaDigest, out var metaLayout, out var bitmap, out var pieceHashes);
            if (error is not null)
            {
                return error;
            }

            if (metaDigest != digest)
            {
                return $"meta names {metaDigest}, not the digest in its file name";
            }

            if (dataInfo.Length != metaLayout.Length)
            {
                return $"data file is {dataInfo.Length} bytes, meta says {metaLayout.Length}";
            }

            var cleared = await VerifyPresentPiecesAsync(digest, dataPath, metaLayout, bitmap!, pieceHashes!, cancellationToken).ConfigureAwait(false);
            if (cleared > 0)
            {
                var buffer = new byte[PartialMeta.SizeFor(metaLayout.PieceCount)];
                PartialMeta.Write(buffer, digest, metaLayout, bitmap!, pieceHashes);
                PartialMeta.WriteAtomically(metaPath, buffer);
            }

            partials.Add(digest, new PartialEntry(digest, metaLayout.Length, dataPath, metaPath)
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
    private async Task<int> VerifyPresentPiecesAsync(Digest digest, string dataPath, PieceLayout pieces, PieceBitmap bitmap, byte[] pieceHashes, CancellationToken cancellationToken)
    {
        var cleared = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(FileHashing.BufferSize);
        try
        {
            using var handle = File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var actual = new byte[PartialMeta.PieceHashSize];
            for (var i = 0; i < pieces.PieceCount; i++)
            {
                if (!bitmap[i])
                {
                    continue;
                }

                await FileHashing.HashRangeAsync(handle, pieces.OffsetOf(i), pieces.LengthOf(i), buffer, hasher, cancellationToken).ConfigureAwait(false);
                hasher.GetHashAndReset(actual);
                var recorded = pieceHashes.AsSpan(i * PartialMeta.PieceHashSize, PartialMeta.PieceHashSize);
                if (!CryptographicOperations.FixedTimeEquals(actual, recorded))
                {
                    ContentStoreLog.RecoveryPieceFailedVerification(logger, digest, i);
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
}
