using System.Collections.Concurrent;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduling.Topology;
using PeerAgent.Core.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>
/// Gives hosts their zone and region before they reach the core: from their Node when <see cref="INodeTopology"/> is
/// authoritative (the agent's own labels are ignored; an unknown Node gives none), else the agent's labels. A singleton
/// (the gRPC service is made per call), so it remembers what each host was registered with and a heartbeat moves a
/// host only when its Node appeared or its labels changed.
/// </summary>
internal sealed class HostPlacements(SwarmScheduler scheduler, INodeTopology topology)
{
    // Pruned of hosts the core dropped once it is both large and twice the live set (see Register).
    private readonly ConcurrentDictionary<string, NodePlacement> _placed = new(StringComparer.Ordinal);

    public PeerHost Place(PeerHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (!topology.IsAuthoritative)
        {
            return host;
        }

        return topology.TryGet(host.NodeName, out var placement)
            ? host with { Zone = placement.Zone, Region = placement.Region }
            : host with { Zone = "", Region = "" };
    }

    /// <summary>Registers a placed host with the core.</summary>
    public void Register(PeerHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        scheduler.RegisterHost(host);
        if (!topology.IsAuthoritative)
        {
            return;
        }

        _placed[host.HostId] = new NodePlacement(host.Zone, host.Region, "");
        if (_placed.Count > 1024 && _placed.Count > 2 * scheduler.Counts().Hosts)
        {
            foreach (var id in _placed.Keys)
            {
                if (!scheduler.HasHost(id))
                {
                    _placed.TryRemove(id, out _);
                }
            }
        }
    }

    /// <summary>For a known host that heartbeats: registers it again when its placed zone or region moved.</summary>
    public void Refresh(PeerHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (topology.IsAuthoritative
            && (!_placed.TryGetValue(host.HostId, out var placed)
                || !string.Equals(placed.Zone, host.Zone, StringComparison.Ordinal)
                || !string.Equals(placed.Region, host.Region, StringComparison.Ordinal)))
        {
            Register(host);
        }
    }
}
