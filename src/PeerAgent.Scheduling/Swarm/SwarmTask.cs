using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Scheduling.Swarm;

/// <summary>One blob being distributed: its layout, its peers, its candidate pools and its back-to-source slots.</summary>
internal sealed class SwarmTask
{
    private readonly Dictionary<string, PeerPool> _zones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PeerPool> _regions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _leaders = new(StringComparer.Ordinal);

    public SwarmTask(Digest digest, long length, int backToSourceQuota)
    {
        Digest = digest;
        Layout = PieceLayout.For(length);
        Availability = new int[Layout.PieceCount];
        BackToSource = new SwarmPeer?[backToSourceQuota];
        var words = Math.Max(1, (Layout.PieceCount + 63) / 64);
        ChildWords = new ulong[words];
        CandidateWords = new ulong[words];
    }

    public Digest Digest { get; }
    public PieceLayout Layout { get; }
    public int PieceCount => Layout.PieceCount;

    /// <summary>sha256 of each piece, once a back-to-source peer has published them.</summary>
    public IReadOnlyList<Digest>? PieceDigests { get; set; }

    public Dictionary<string, SwarmPeer> Peers { get; } = new(StringComparer.Ordinal);

    /// <summary>How many live peers hold each piece.</summary>
    public int[] Availability { get; }

    /// <summary>Until then the task is being taken over from a replica that went away: only a peer already reading the origin gets its slot.</summary>
    public DateTimeOffset TakeoverUntil { get; set; }

    /// <summary>Back-to-source slots; slot i fetches stripe i when striping.</summary>
    public SwarmPeer?[] BackToSource { get; }

    /// <summary>Peers that may be offered as parents (have or will get pieces, below fan-out), across the task.</summary>
    public PeerPool All { get; } = new(PeerPool.AllLevel);

    // Scratch for one decision (decisions run under the scheduler's lock).
    public ulong[] ChildWords { get; }
    public ulong[] CandidateWords { get; }

    public PeerPool? ZonePool(string? zoneKey) => zoneKey is not null && _zones.TryGetValue(zoneKey, out var pool) ? pool : null;
    public PeerPool? RegionPool(string? region) => region is not null && _regions.TryGetValue(region, out var pool) ? pool : null;

    public void AddToPools(SwarmPeer peer)
    {
        All.Add(peer);
        if (peer.Host.ZoneKey is { } zone)
        {
            GetOrAdd(_zones, zone, PeerPool.ZoneLevel).Add(peer);
        }

        if (peer.Host.Region is { } region)
        {
            GetOrAdd(_regions, region, PeerPool.RegionLevel).Add(peer);
        }

        peer.InPools = true;
    }

    public void RemoveFromPools(SwarmPeer peer)
    {
        All.Remove(peer);
        if (peer.ZoneSlot >= 0)
        {
            _zones[peer.Host.ZoneKey!].Remove(peer);
        }

        if (peer.RegionSlot >= 0)
        {
            _regions[peer.Host.Region!].Remove(peer);
        }

        peer.InPools = false;
    }

    /// <summary>Peers of this task leading zone <paramref name="zoneKey"/> (see <see cref="SwarmPeer.ZoneLeader"/>).</summary>
    public int ZoneLeaders(string zoneKey) => _leaders.TryGetValue(zoneKey, out var count) ? count : 0;

    /// <summary>Makes <paramref name="peer"/> a leader of its zone; the caller checks the zone's quota.</summary>
    public void AddZoneLeader(SwarmPeer peer)
    {
        if (peer.ZoneLeader || peer.Host.ZoneKey is not { } zone)
        {
            return;
        }

        _leaders[zone] = ZoneLeaders(zone) + 1;
        peer.ZoneLeader = true;
    }

    /// <summary>Frees <paramref name="peer"/>'s leader place, keyed by <paramref name="zoneKey"/> (its zone when it became leader).</summary>
    public void RemoveZoneLeader(SwarmPeer peer, string? zoneKey)
    {
        if (!peer.ZoneLeader)
        {
            return;
        }

        peer.ZoneLeader = false;
        if (zoneKey is not null && _leaders.TryGetValue(zoneKey, out var count))
        {
            if (count <= 1)
            {
                _leaders.Remove(zoneKey);
            }
            else
            {
                _leaders[zoneKey] = count - 1;
            }
        }
    }

    /// <summary>The piece range back-to-source slot <paramref name="slot"/> fetches.</summary>
    public PieceRange StripeOf(int slot, bool striped) =>
        striped ? BackToSourceStripes.Range(PieceCount, BackToSource.Length, slot) : new PieceRange(0, PieceCount);

    /// <summary>True when every piece in <paramref name="range"/> is held by some live peer.</summary>
    public bool Covers(PieceRange range)
    {
        for (var i = range.Start; i < range.End; i++)
        {
            if (Availability[i] == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static PeerPool GetOrAdd(Dictionary<string, PeerPool> pools, string key, int level)
    {
        if (!pools.TryGetValue(key, out var pool))
        {
            pool = new PeerPool(level);
            pools.Add(key, pool);
        }

        return pool;
    }
}
