using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// The blobs this agent most recently downloaded and verified. The scheduler keeps only soft state; when it
/// restarts, these are announced to it again as complete, so the swarm keeps its seeds.
/// </summary>
internal sealed class RecentSeeds
{
    /// <summary>Most blobs remembered; a restarted scheduler hears about at most this many.</summary>
    internal const int Capacity = 256;

    private readonly Lock _lock = new();
    private readonly LinkedList<(Digest Digest, long Length)> _order = new();
    private readonly Dictionary<Digest, LinkedListNode<(Digest Digest, long Length)>> _index = [];

    public void Add(Digest digest, long length)
    {
        lock (_lock)
        {
            if (_index.Remove(digest, out var existing))
            {
                _order.Remove(existing);
            }

            _index[digest] = _order.AddFirst((digest, length));
            if (_order.Count > Capacity)
            {
                _index.Remove(_order.Last!.Value.Digest);
                _order.RemoveLast();
            }
        }
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<(Digest Digest, long Length)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _order];
        }
    }
}
