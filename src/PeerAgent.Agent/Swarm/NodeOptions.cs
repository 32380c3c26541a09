namespace PeerAgent.Agent.Swarm;

/// <summary>Where this agent runs (section <c>Node</c>); the scheduler prefers parents on the same node, zone, region.</summary>
internal sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>Kubernetes node name (the chart sets it from spec.nodeName). Empty: the machine's host name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The node's <c>topology.kubernetes.io/zone</c> label; empty when unknown.</summary>
    public string Zone { get; set; } = "";

    /// <summary>The node's <c>topology.kubernetes.io/region</c> label; empty when unknown.</summary>
    public string Region { get; set; } = "";

    public string ResolvedName => string.IsNullOrWhiteSpace(Name) ? Environment.MachineName : Name;
}
