namespace PeerAgent.Scheduling.Swarm;

/// <summary>
/// An unordered set of candidate parents with O(1) add, remove and index access, so a decision can read a
/// random window of it without scanning the whole task.
/// </summary>
internal sealed class PeerPool
{
    public const int ZoneLevel = 0;
    public const int RegionLevel = 1;
    public const int AllLevel = 2;

    private readonly int _level;
    private SwarmPeer[] _items = new SwarmPeer[4];
    private int _count;

    public PeerPool(int level)
    {
        _level = level;
    }

    public int Count => _count;

    public SwarmPeer this[int index] => _items[index];

    public void Add(SwarmPeer peer)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[_count] = peer;
        SlotOf(peer) = _count++;
    }

    public void Remove(SwarmPeer peer)
    {
        ref var slot = ref SlotOf(peer);
        var index = slot;
        var last = _items[--_count];
        _items[index] = last;
        SlotOf(last) = index;
        _items[_count] = null!;
        slot = -1;
    }

    private ref int SlotOf(SwarmPeer peer)
    {
        switch (_level)
        {
            case ZoneLevel:
                return ref peer.ZoneSlot;
            case RegionLevel:
                return ref peer.RegionSlot;
            default:
                return ref peer.AllSlot;
        }
    }
}
