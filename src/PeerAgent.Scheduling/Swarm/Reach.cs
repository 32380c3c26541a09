namespace PeerAgent.Scheduling.Swarm;

/// <summary>How far one decision looks for parents (see <c>SwarmScheduler.ReachOf</c>).</summary>
internal enum Reach
{
    /// <summary>All rings in one ranking, topology only weighing the score (unlabelled child, or zone-first off).</summary>
    Mixed,

    /// <summary>Only the child's zone (and node): its zone has its leaders.</summary>
    Zone,

    /// <summary>Zone first; when it offers nothing, region then anywhere, and the child becomes a leader.</summary>
    MayLead,

    /// <summary>A leader: zone, then region, then anywhere.</summary>
    Leader,
}
