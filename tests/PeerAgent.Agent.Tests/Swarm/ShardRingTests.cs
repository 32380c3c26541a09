using PeerAgent.Core.Oci;
using PeerAgent.Protocol;

namespace PeerAgent.Agent.Tests.Swarm;

public sealed class ShardRingTests
{
    private static readonly string[] Three = ["https://10.0.0.1:65004", "https://10.0.0.2:65004", "https://10.0.0.3:65004"];

    [Fact]
    public void Rank_SameReplicasInAnyOrder_SameRanking()
    {
        var task = Digest.Compute("blob"u8).ToString();

        var ranked = ShardRing.Rank(task, Three);

        ranked.Should().BeEquivalentTo(Three);
        ShardRing.Rank(task, [.. Three.Reverse()]).Should().Equal(ranked, "every agent ranks the replicas alike, whatever order it heard them in");
        ShardRing.Rank(task, [Three[1], Three[2], Three[0], Three[1]]).Should().Equal(ranked, "duplicates count once");
    }

    [Fact]
    public void Owner_ReplicaRemoved_OnlyItsTasksMoveEachToItsNextRanked()
    {
        var tasks = Enumerable.Range(0, 3000).Select(i => Digest.Compute(BitConverter.GetBytes(i)).ToString()).ToList();
        var survivors = Three.Where(r => r != Three[1]).ToArray();

        foreach (var task in tasks)
        {
            var before = ShardRing.Rank(task, Three);
            var after = ShardRing.Owner(task, survivors);
            after.Should().Be(before[0] == Three[1] ? before[1] : before[0], "only the removed replica's tasks move, and each to its second choice");
        }
    }

    [Fact]
    public void Owner_ManyTasks_SpreadEvenlyOverTheReplicas()
    {
        var counts = Enumerable.Range(0, 3000)
            .Select(i => ShardRing.Owner(Digest.Compute(BitConverter.GetBytes(i)).ToString(), Three)!)
            .GroupBy(owner => owner)
            .ToDictionary(g => g.Key, g => g.Count());

        counts.Keys.Should().BeEquivalentTo(Three);
        counts.Values.Should().OnlyContain(n => n > 850 && n < 1150, "each of 3 replicas owns about a third of 3000 tasks: {0}", string.Join(", ", counts));
    }

    [Fact]
    public void Owner_NoReplicas_IsNull()
    {
        ShardRing.Owner("sha256:" + new string('a', 64), []).Should().BeNull();
    }
}
