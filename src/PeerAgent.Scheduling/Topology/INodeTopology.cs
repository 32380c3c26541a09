namespace PeerAgent.Scheduling.Topology;

/// <summary>Where the scheduler learns a host's zone and region from.</summary>
internal interface INodeTopology
{
    /// <summary>
    /// True when placements come from the Kubernetes API: then the labels an agent reports are ignored, and a host
    /// whose Node is not known (yet) has no zone or region. False: the agent-reported labels are used as they are.
    /// </summary>
    bool IsAuthoritative { get; }

    /// <summary>The placement of the Node named <paramref name="nodeName"/>; false when it is not known.</summary>
    bool TryGet(string nodeName, out NodePlacement placement);
}
