using System.Buffers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// Keeps a partial blob's <c>.meta</c> file (<see cref="PartialMeta"/>) in step with its pieces: rewritten
/// atomically when a piece was recorded since the last write, by one writer at a time.
/// </summary>
/// <remarks>
/// The piece state (bitmap and piece hashes) belongs to the <see cref="PartialBlob"/> and is read under its state
/// lock. The meta lock also orders rewrites against commit and discard, which <see cref="RetireLocked"/> the file.
/// </remarks>
internal sealed class PartialMetaFile(string path, Lock stateLock, Digest digest, PieceLayout layout, PieceBitmap bitmap, byte[] pieceHashes)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private long _stateVersion; // state lock
    private long _persistedVersion; // meta lock
    private bool _retired; // meta lock

    /// <summary>Reads the meta file of a partial found on disk; returns null on success or why it is unusable for this blob.</summary>
    public static string? TryLoad(string path, Digest digest, PieceLayout layout, out PieceBitmap? bitmap, out byte[]? pieceHashes)
    {
        bitmap = null;
        pieceHashes = null;
        byte[] metaBytes;
        try
        {
            metaBytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"meta could not be read: {ex.Message}";
        }

        var reason = PartialMeta.TryRead(metaBytes, out var metaDigest, out var metaLayout, out var readBitmap, out var readHashes);
        if (reason is not null)
        {
            return reason;
        }

        if (metaDigest != digest || metaLayout != layout)
        {
            return "meta describes a different blob";
        }

        bitmap = readBitmap;
        pieceHashes = readHashes;
        return null;
    }

    public Task WaitAsync(CancellationToken cancellationToken) => _lock.WaitAsync(cancellationToken);

    public void Wait() => _lock.Wait();

    public void Release() => _lock.Release();

    /// <summary>The piece state changed. Caller holds the state lock.</summary>
    public void MarkChangedLocked() => _stateVersion++;

    /// <summary>The file is no longer this blob's to write (committed or discarded). Caller holds the meta lock.</summary>
    public void RetireLocked() => _retired = true;

    /// <summary>Rewrites the file if anything changed since it was last written. Caller holds the meta lock.</summary>
    public void PersistLocked()
    {
        var size = PartialMeta.SizeFor(layout.PieceCount);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            long version;
            lock (stateLock)
            {
                if (_retired || _stateVersion == _persistedVersion)
                {
                    return;
                }

                version = _stateVersion;
                PartialMeta.Write(buffer.AsSpan(0, size), digest, layout, bitmap, pieceHashes);
            }

            PartialMeta.WriteAtomically(path, buffer.AsSpan(0, size));
            _persistedVersion = version;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
