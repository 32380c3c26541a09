using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Peers;

/// <summary>A piece that became present: its index and sha256.</summary>
internal readonly record struct CompletedPiece(int Index, Digest Sha256);

/// <summary>
/// What the peer service can see beyond the committed store: blobs still being downloaded (their present pieces
/// are served while later ones arrive), the in-process "piece completed" hook that feeds SyncPieces, and the
/// piece digests of committed blobs (the store keeps those only while a blob is partial).
/// </summary>
/// <remarks>
/// The downloader (<see cref="PeerAgent.Agent.Downloads.BlobDownloader"/>) registers each open <see cref="PartialBlob"/>
/// and calls <see cref="PieceCompleted"/> after each piece verifies, whatever source it came from.
/// </remarks>
internal sealed class PeerTasks
{
    /// <summary>Committed blobs whose piece digests are remembered; the oldest entry goes first.</summary>
    internal const int MaxRememberedBlobs = 4096;

    private const int HashBufferBytes = 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, ActiveTask> _active = [];
    private readonly Dictionary<Digest, PieceDigests> _digests = [];
    private readonly Queue<Digest> _digestOrder = new();

    /// <summary>Makes the present pieces of <paramref name="partial"/> servable until the returned handle is disposed.</summary>
    /// <remarks>Dispose the handle before disposing the partial; if the partial was committed, its piece digests are kept.</remarks>
    public IDisposable Register(PartialBlob partial)
    {
        ArgumentNullException.ThrowIfNull(partial);
        var task = new ActiveTask(this, partial);
        lock (_lock)
        {
            if (!_active.TryAdd(partial.Digest, task))
            {
                throw new InvalidOperationException($"task {partial.Digest} is already registered");
            }
        }

        return task;
    }

    /// <summary>The in-process notification hook: piece <paramref name="index"/> of <paramref name="task"/> verified and is present.</summary>
    public void PieceCompleted(Digest task, int index, Digest pieceSha256)
    {
        ActiveTask? active;
        lock (_lock)
        {
            _active.TryGetValue(task, out active);
        }

        active?.Publish(new CompletedPiece(index, pieceSha256));
    }

    public bool TryGetPartial(Digest task, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PartialBlob? partial)
    {
        lock (_lock)
        {
            if (_active.TryGetValue(task, out var active))
            {
                partial = active.Partial;
                return true;
            }
        }

        partial = null;
        return false;
    }

    /// <summary>
    /// Subscribes to new pieces of an in-progress task. Returns null if the task is not in progress here.
    /// The reader completes when the task is unregistered (committed or abandoned).
    /// </summary>
    public Subscription? Subscribe(Digest task)
    {
        lock (_lock)
        {
            return _active.TryGetValue(task, out var active) ? active.Subscribe() : null;
        }
    }

    /// <summary>sha256 of piece <paramref name="index"/> of a committed blob, hashing it from disk the first time.</summary>
    public async ValueTask<Digest> GetCommittedPieceDigestAsync(BlobReader reader, PieceLayout layout, int index, CancellationToken cancellationToken)
    {
        var digests = GetOrAddDigests(reader.Digest, layout.PieceCount);
        if (digests.TryGet(index, out var known))
        {
            return known;
        }

        var computed = await HashPieceAsync(reader, layout, index, cancellationToken).ConfigureAwait(false);
        digests.Set(index, computed);
        return computed;
    }

    private PieceDigests GetOrAddDigests(Digest blob, int pieceCount)
    {
        lock (_lock)
        {
            if (_digests.TryGetValue(blob, out var existing) && existing.Count == pieceCount)
            {
                return existing;
            }

            var created = new PieceDigests(pieceCount);
            AddDigestsLocked(blob, created);
            return created;
        }
    }

    private void AddDigestsLocked(Digest blob, PieceDigests digests)
    {
        if (!_digests.ContainsKey(blob))
        {
            _digestOrder.Enqueue(blob);
        }

        _digests[blob] = digests;
        while (_digests.Count > MaxRememberedBlobs && _digestOrder.TryDequeue(out var oldest))
        {
            _digests.Remove(oldest);
        }
    }

    private void Unregister(ActiveTask task)
    {
        lock (_lock)
        {
            if (_active.TryGetValue(task.Partial.Digest, out var current) && ReferenceEquals(current, task))
            {
                _active.Remove(task.Partial.Digest);
            }

            if (task.Partial.IsCommitted)
            {
                // The partial knows every piece digest; keep them so the committed blob is served without re-hashing.
                var layout = task.Partial.Layout;
                var digests = new PieceDigests(layout.PieceCount);
                for (var i = 0; i < layout.PieceCount; i++)
                {
                    digests.Set(i, task.Partial.GetPieceDigest(i));
                }

                AddDigestsLocked(task.Partial.Digest, digests);
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

            Span<byte> hash = stackalloc byte[32];
            hasher.GetHashAndReset(hash);
            return Digest.FromHash("sha256", hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A live subscription to new pieces; dispose to stop receiving.</summary>
    internal sealed class Subscription(ActiveTask task, Channel<CompletedPiece> channel) : IDisposable
    {
        public ChannelReader<CompletedPiece> Reader => channel.Reader;

        public PartialBlob Partial => task.Partial;

        public void Dispose() => task.Unsubscribe(channel);
    }

    internal sealed class ActiveTask(PeerTasks owner, PartialBlob partial) : IDisposable
    {
        private readonly List<Channel<CompletedPiece>> _subscribers = [];
        private bool _closed;

        public PartialBlob Partial { get; } = partial;

        public Subscription Subscribe()
        {
            // Unbounded: at most one message per piece of the blob, and a slow subscriber must not stall the downloader.
            var channel = Channel.CreateUnbounded<CompletedPiece>(new UnboundedChannelOptions { SingleReader = true });
            lock (_subscribers)
            {
                if (_closed)
                {
                    channel.Writer.TryComplete();
                }
                else
                {
                    _subscribers.Add(channel);
                }
            }

            return new Subscription(this, channel);
        }

        public void Unsubscribe(Channel<CompletedPiece> channel)
        {
            lock (_subscribers)
            {
                _subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        }

        public void Publish(CompletedPiece piece)
        {
            lock (_subscribers)
            {
                foreach (var subscriber in _subscribers)
                {
                    subscriber.Writer.TryWrite(piece);
                }
            }
        }

        public void Dispose()
        {
            lock (_subscribers)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                foreach (var subscriber in _subscribers)
                {
                    subscriber.Writer.TryComplete();
                }

                _subscribers.Clear();
            }

            owner.Unregister(this);
        }
    }

    /// <summary>Known piece digests of one blob; filled lazily, safe for concurrent use.</summary>
    private sealed class PieceDigests(int count)
    {
        private readonly Digest[] _digests = new Digest[count];
        private readonly PieceBitmap _known = new(count);

        public int Count => _digests.Length;

        public bool TryGet(int index, out Digest digest)
        {
            if (_known[index])
            {
                digest = _digests[index];
                return true;
            }

            digest = default;
            return false;
        }

        public void Set(int index, Digest digest)
        {
            // The digest is written before the bit (Interlocked.Or is a full fence), so a reader that sees the bit sees it.
            _digests[index] = digest;
            _known.Set(index);
        }
    }
}
