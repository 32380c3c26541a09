namespace PeerAgent.Core.Swarm;

/// <summary>
/// What an agent tells the scheduler about itself, in every heartbeat and Announce registration. The agent builds
/// it from its options; the scheduler places it (zone and region may then come from the Kubernetes Node instead).
/// <c>PeerAgent.Protocol.WireMapping</c> is the one place it is converted to and from the wire <c>HostInfo</c>.
/// </summary>
/// <param name="HostId">Stable id of the agent: node name and peer authority, so two agents on one node stay apart.</param>
/// <param name="NodeName">Kubernetes node name.</param>
/// <param name="Zone">Label <c>topology.kubernetes.io/zone</c>; empty when unknown.</param>
/// <param name="Region">Label <c>topology.kubernetes.io/region</c>; empty when unknown.</param>
/// <param name="PeerAddress">Where children reach this agent's peer service, e.g. <c>https://10.0.0.5:65002</c>.</param>
/// <param name="UploadCapacity">Concurrent upload slots the agent offers.</param>
public sealed record PeerHost(string HostId, string NodeName, string Zone, string Region, string PeerAddress, int UploadCapacity);
