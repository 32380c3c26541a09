using System.Threading.Channels;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Peers;

/// <summary>A piece that became present: its index and sha256.</summary>
internal readonly record struct CompletedPiece(int Index, Digest Sha256);

/// <summary>
/// What the peer service can see beyond the committed store: blobs still being downloaded (their present pieces
/// are served while later ones arrive) and the in-process "piece completed" hook that feeds SyncPieces. The piece
/// digests of committed blobs are the store's (see <see cref="CommittedPieceDigests"/>).
/// </summary>
/// <remarks>
/// The downloader (<see cref="PeerAgent.Agent.Downloads.BlobDownloader"/>) registers each open <see cref="PartialBlob"/>
/// and calls <see cref="PieceCompleted"/> after each piece verifies, whatever source it came from.
/// </remarks>
internal sealed class PeerTasks
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, ActiveTask> _active = [];

    /// <summary>Makes the present pieces of <paramref name="partial"/> servable until the returned handle is disposed.</summary>
    /// <remarks>Dispose the handle before disposing the partial.</remarks>
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

    private void Unregister(ActiveTask task)
    {
        lock (_lock)
        {
            if (_active.TryGetValue(task.Partial.Digest, out var current) && ReferenceEquals(current, task))
            {
                _active.Remove(task.Partial.Digest);
            }
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
}
