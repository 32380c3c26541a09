namespace PeerAgent.Scheduling.Topology;

/// <summary>No shard Service (one scheduler process, or the agent's embedded scheduler): no replicas to tell agents about.</summary>
internal sealed class SingleReplica : IShardDirectory
{
    public IReadOnlyList<string> Replicas => [];
}
