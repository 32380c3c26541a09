namespace PeerAgent.Scheduling.Topology;

/// <summary>
/// The scheduler replicas that share the blobs between them, as agents reach them: each ready replica's gRPC URL
/// (<c>https://10.0.3.7:65004</c>), ordinal-sorted and without duplicates. Agents hear it in every heartbeat answer
/// and send each blob to its owner (<c>PeerAgent.Protocol.ShardRing</c>). Empty when the scheduler is not sharded:
/// agents then use their configured address for everything.
/// </summary>
internal interface IShardDirectory
{
    IReadOnlyList<string> Replicas { get; }
}
