namespace PeerAgent.Scheduling.Topology;

/// <summary>
/// Where a Kubernetes Node sits: its <c>topology.kubernetes.io/zone</c>, <c>topology.kubernetes.io/region</c> and
/// <c>kubernetes.io/hostname</c> labels, empty when absent. Zone and region are interned by the informer.
/// </summary>
internal readonly record struct NodePlacement(string Zone, string Region, string Hostname);
