using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

public class ExpiryTests
{
    [Fact]
    public void Sweep_HostSilentJustUnderTheExpiry_IsKept()
    {
        var swarm = new Swarm(o => o.HostExpiry = TimeSpan.FromSeconds(10)).Host("a");
        swarm.Peer("a");

        swarm.Advance(TimeSpan.FromSeconds(10));
        var sweep = swarm.Scheduler.Sweep();

        sweep.ExpiredHosts.Should().BeEmpty();
        swarm.Scheduler.HasHost("a").Should().BeTrue();
        swarm.Scheduler.PeerCount(Swarm.Blob).Should().Be(1);
    }

    [Fact]
    public void Sweep_HostSilentPastTheExpiry_DropsHostAndItsPeers()
    {
        var swarm = new Swarm(o => o.HostExpiry = TimeSpan.FromSeconds(10)).Host("a").Host("b");
        swarm.Peer("a").Peer("b");

        swarm.Advance(TimeSpan.FromSeconds(6), "b");
        swarm.Advance(TimeSpan.FromSeconds(5), "b");
        var sweep = swarm.Scheduler.Sweep();

        sweep.ExpiredHosts.Should().Equal("a");
        swarm.Scheduler.HasHost("a").Should().BeFalse();
        swarm.Scheduler.HasHost("b").Should().BeTrue("b heartbeated");
        swarm.Scheduler.Inspect(Swarm.Blob, "a").Should().BeNull();
        swarm.Scheduler.Heartbeat("a", 0).Should().BeFalse("a must register again");
    }

    [Fact]
    public void Sweep_ParentExpires_ChildLosesItAndIsReportedOrphaned()
    {
        var swarm = new Swarm().Host("child").Host("parent").Host("other");
        swarm.Peer("child").Seed("parent").Seed("other");
        swarm.Schedule("child").Parents.Should().HaveCount(2);

        swarm.Advance(TimeSpan.FromSeconds(11), "child", "other");
        var sweep = swarm.Scheduler.Sweep();

        swarm.Inspect("child").Parents.Should().Equal(["other"]);
        sweep.Orphaned.Should().Equal(new PeerRef(Swarm.Blob, "child"));
    }

    [Fact]
    public void Sweep_LastPeerOfATaskExpires_TaskIsForgotten()
    {
        var swarm = new Swarm().Host("a");
        swarm.Peer("a");

        swarm.Advance(TimeSpan.FromSeconds(11));
        swarm.Scheduler.Sweep();

        swarm.Scheduler.PeerCount(Swarm.Blob).Should().Be(0);
        swarm.Host("a").Peer("a");
        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource, "a fresh task starts with a free quota");
    }

    [Fact]
    public void Counts_FollowHostsTasksAndPeersThroughExpiry()
    {
        var swarm = new Swarm(o => o.HostExpiry = TimeSpan.FromSeconds(10)).Host("a").Host("b").Host("c");
        swarm.Peer("a").Peer("b");
        swarm.Scheduler.Announce(PeerAgent.Core.Oci.Digest.Compute("another blob"u8), Swarm.Length, "a").Should().Be(AnnounceResult.Registered);

        swarm.Scheduler.Counts().Should().Be(new SwarmCounts(Hosts: 3, Tasks: 2, Peers: 3));

        swarm.Advance(TimeSpan.FromSeconds(11), "b", "c");
        swarm.Scheduler.Sweep();

        swarm.Scheduler.Counts().Should().Be(new SwarmCounts(Hosts: 2, Tasks: 1, Peers: 1), "a and its two peers are gone, and with them the second task");
    }
}
