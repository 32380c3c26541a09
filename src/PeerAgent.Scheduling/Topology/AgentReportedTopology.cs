namespace PeerAgent.Scheduling.Topology;

/// <summary>No Kubernetes API: each agent's own <c>Node:Zone</c> and <c>Node:Region</c> are used as they are.</summary>
internal sealed class AgentReportedTopology : INodeTopology
{
    public bool IsAuthoritative => false;

    public bool TryGet(string nodeName, out NodePlacement placement)
    {
        placement = default;
        return false;
    }
}
