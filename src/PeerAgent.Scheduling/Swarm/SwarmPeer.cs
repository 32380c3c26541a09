using PeerAgent.Core.Pieces;

namespace PeerAgent.Scheduling.Swarm;

/// <summary>Where a peer is in its download.</summary>
internal enum PeerState
{
    Running,
    BackToSource,
    Succeeded,
}

/// <summary>One host taking part in one task: its pieces, its parents and children, and what it thinks of its parents.</summary>
internal sealed class SwarmPeer
{
    private List<SwarmPeer>? _parents;
    private List<SwarmPeer>? _children;
    private Dictionary<string, int>? _failures;

    public SwarmPeer(SwarmTask task, SwarmHost host, PieceBitmap pieces)
    {
        Task = task;
        Host = host;
        Pieces = pieces;
    }

    public SwarmTask Task { get; }
    public SwarmHost Host { get; }
    public PieceBitmap Pieces { get; set; }
    public PeerState State { get; set; }

    /// <summary>Back-to-source slot held in <see cref="SwarmTask.BackToSource"/>, or -1.</summary>
    public int BackToSourceSlot { get; set; } = -1;

    /// <summary>
    /// One of its zone's leaders in this task (<see cref="SwarmTask.ZoneLeaders"/>): allowed parents outside its zone
    /// (or the origin), and offered to its zone mates as if it had the whole blob, since it will get it.
    /// </summary>
    public bool ZoneLeader { get; set; }

    /// <summary>When this peer last reported a finished piece (or was granted back-to-source).</summary>
    public DateTimeOffset LastProgress { get; set; }

    /// <summary>False once the peer has left its task; stale references then skip it.</summary>
    public bool Alive { get; set; } = true;

    // Positions in the task's candidate pools (-1 when absent): swap-remove in O(1) needs them.
    public int ZoneSlot = -1;
    public int RegionSlot = -1;
    public int AllSlot = -1;
    public bool InPools;

    // Decision stamps: equal to the scheduler's current stamp when this peer is a descendant of the child
    // being scheduled, or was already scored in this decision. Avoids clearing sets between decisions.
    public int DescendantStamp;
    public int SeenStamp;

    // Topological rank: every parent's depth is below each of its children's. A candidate shallower than all
    // of a child's children cannot be its descendant, which makes the cycle check O(1) when the child's
    // subtree is too large to walk.
    public int Depth;

    public int ParentCount => _parents?.Count ?? 0;
    public int ChildCount => _children?.Count ?? 0;

    public SwarmPeer ParentAt(int index) => _parents![index];
    public SwarmPeer ChildAt(int index) => _children![index];

    public bool HasParent(SwarmPeer parent) => _parents is not null && _parents.Contains(parent);

    public void AddParent(SwarmPeer parent) => (_parents ??= new List<SwarmPeer>(4)).Add(parent);
    public bool RemoveParent(SwarmPeer parent) => _parents is not null && _parents.Remove(parent);
    public void AddChild(SwarmPeer child) => (_children ??= new List<SwarmPeer>(2)).Add(child);
    public bool RemoveChild(SwarmPeer child) => _children is not null && _children.Remove(child);

    public void ClearParents() => _parents?.Clear();
    public void ClearChildren() => _children?.Clear();

    public int FailuresFrom(string hostId) =>
        _failures is not null && _failures.TryGetValue(hostId, out var count) ? count : 0;

    public int CountFailure(string hostId)
    {
        _failures ??= new Dictionary<string, int>(StringComparer.Ordinal);
        _failures.TryGetValue(hostId, out var count);
        _failures[hostId] = ++count;
        return count;
    }
}
