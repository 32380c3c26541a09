using System.Buffers;
using System.Security.Cryptography;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Peers;

/// <summary>
/// The sha256 of each piece of a committed blob, for peers: from the blob's metadata in the store (a commit
/// records them), else hashed from disk and recorded in the store once every piece is known.
/// </summary>
/// <remarks>
/// Pieces hashed on demand are kept here, a few blobs at a time, until the set is complete and goes to the store
/// in one metadata write. Not per piece: the store's metadata holds a blob's piece digests all or none, which keeps
/// its format free of a presence bitmap and costs one rewrite per blob instead of one per piece; and the caller
/// that hashes a blob from disk is almost always a SyncPieces listing, which asks for every piece at once.
/// </remarks>
internal sealed class CommittedPieceDigests(ContentStore store)
{
    /// <summary>Blobs whose piece digests are being filled in here; the oldest goes first.</summary>
    internal const int MaxPendingBlobs = 256;

    private const int HashBufferBytes = 1024 * 1024;
    private const int Sha256Bytes = 32;
    private const string Sha256 = "sha256";

    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, PendingDigests> _pending = [];
    private readonly Queue<Digest> _pendingOrder = new();

    /// <summary>sha256 of piece <paramref name="index"/> of the blob open in <paramref name="reader"/>, hashing it from disk if it is not recorded.</summary>
    public async ValueTask<Digest> GetAsync(BlobReader reader, PieceLayout layout, int index, CancellationToken cancellationToken)
    {
        if (store.TryGetPieceDigests(reader.Digest, out var recorded) && recorded.Length == layout.PieceCount * Sha256Bytes)
        {
            return Digest.FromHash(Sha256, recorded.Span.Slice(index * Sha256Bytes, Sha256Bytes));
        }

        var pending = GetOrAddPending(reader.Digest, layout.PieceCount);
        if (!pending.TryGet(index, out var digest))
        {
            digest = await HashPieceAsync(reader, layout, index, cancellationToken).ConfigureAwait(false);
            if (pending.Set(index, digest))
            {
                Complete(reader.Digest, pending);
            }
        }

        return digest;
    }

    /// <summary>The sha256 of every piece (32 bytes each, in order), hashing from disk those not recorded.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> GetAllAsync(BlobReader reader, PieceLayout layout, CancellationToken cancellationToken)
    {
        if (store.TryGetPieceDigests(reader.Digest, out var recorded) && recorded.Length == layout.PieceCount * Sha256Bytes)
        {
            return recorded;
        }

        var pending = GetOrAddPending(reader.Digest, layout.PieceCount);
        for (var i = 0; i < layout.PieceCount; i++)
        {
            if (!pending.TryGet(i, out _) && pending.Set(i, await HashPieceAsync(reader, layout, i, cancellationToken).ConfigureAwait(false)))
            {
                Complete(reader.Digest, pending);
            }
        }

        return pending.Hashes;
    }

    private PendingDigests GetOrAddPending(Digest blob, int pieceCount)
    {
        lock (_lock)
        {
            if (_pending.TryGetValue(blob, out var existing) && existing.Count == pieceCount)
            {
                return existing;
            }

            var created = new PendingDigests(pieceCount);
            if (!_pending.ContainsKey(blob))
            {
                _pendingOrder.Enqueue(blob);
            }

            _pending[blob] = created;
            while (_pending.Count > MaxPendingBlobs && _pendingOrder.TryDequeue(out var oldest))
            {
                _pending.Remove(oldest);
            }

            return created;
        }
    }

    /// <summary>Every piece of <paramref name="blob"/> is known: the store keeps them from now on.</summary>
    private void Complete(Digest blob, PendingDigests pending)
    {
        store.SetPieceDigests(blob, pending.Hashes.Span);
        lock (_lock)
        {
            if (_pending.TryGetValue(blob, out var current) && ReferenceEquals(current, pending))
            {
                _pending.Remove(blob);
            }
        }
    }

    private static async ValueTask<Digest> HashPieceAsync(BlobReader reader, PieceLayout layout, int index, CancellationToken cancellationToken)
    {
        var offset = layout.OffsetOf(index);
        var remaining = layout.LengthOf(index);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(HashBufferBytes, Math.Max(remaining, 1)));
        try
        {
            using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            while (remaining > 0)
            {
                var read = await reader.ReadAsync(offset, buffer.AsMemory(0, Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new EndOfStreamException($"blob {reader.Digest} ended {remaining} bytes before the end of piece {index}");
                }

                hasher.AppendData(buffer, 0, read);
                offset += read;
                remaining -= read;
            }

            Span<byte> hash = stackalloc byte[Sha256Bytes];
            hasher.GetHashAndReset(hash);
            return Digest.FromHash(Sha256, hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Piece digests of one blob being filled in; safe for concurrent use.</summary>
    private sealed class PendingDigests(int count)
    {
        private readonly byte[] _hashes = new byte[count * Sha256Bytes];
        private readonly PieceBitmap _known = new(count);
        private readonly Lock _setLock = new();

        public int Count => count;

        /// <summary>32 bytes per piece; complete once a <see cref="Set"/> returned true.</summary>
        public ReadOnlyMemory<byte> Hashes => _hashes;

        public bool TryGet(int index, out Digest digest)
        {
            if (_known[index])
            {
                digest = Digest.FromHash(Sha256, _hashes.AsSpan(index * Sha256Bytes, Sha256Bytes));
                return true;
            }

            digest = default;
            return false;
        }

        /// <summary>Records piece <paramref name="index"/>; true for the one call that made the set complete.</summary>
        public bool Set(int index, Digest digest)
        {
            lock (_setLock)
            {
                if (_known[index])
                {
                    return false;
                }

                // The bytes are written before the bit (PieceBitmap.Set is a full fence), so a reader that sees the bit sees them.
                Convert.FromHexString(digest.Hex, _hashes.AsSpan(index * Sha256Bytes, Sha256Bytes), out _, out _);
                _known.Set(index);
                return _known.IsComplete;
            }
        }
    }
}
