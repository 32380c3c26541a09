using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

/// <summary>
/// Zone-first parent selection over three zones in two regions: za and zb in r1, zc in r2. Hosts are named after
/// their zone (a1, a2 in za...), seeds "<zone>-seed".
/// </summary>
public class ZoneSelectionTests
{
    [Fact]
    public void Schedule_SeedsInEveryZone_OffersOnlyTheSameZoneSeed()
    {
        var swarm = ThreeZones("a1", "a-seed", "b-seed", "c-seed");
        swarm.Peer("a1").Seed("a-seed").Seed("b-seed").Seed("c-seed");

        var decision = swarm.Schedule("a1");

        ParentIds(decision).Should().Equal(["a-seed"], "a parent in the child's zone exists, so nothing is pulled across the zone's boundary");
        swarm.Inspect("a1").ZoneLeader.Should().BeFalse("it needs nothing from outside its zone");
    }

    [Fact]
    public void Schedule_NoHolderInTheZone_SameRegionBeforeOtherRegionAndTheChildLeadsItsZone()
    {
        var swarm = ThreeZones("a1", "b-seed", "c-seed");
        swarm.Peer("a1").Seed("b-seed").Seed("c-seed");

        var decision = swarm.Schedule("a1");

        ParentIds(decision).Should().Equal(["b-seed"], "zb is in a1's region, zc is not");
        swarm.Inspect("a1").ZoneLeader.Should().BeTrue("a1 brings the blob into za");
    }

    [Fact]
    public void Schedule_NoHolderInTheRegion_OffersAnotherRegion()
    {
        var swarm = ThreeZones("a1", "c-seed");
        swarm.Peer("a1").Seed("c-seed");

        ParentIds(swarm.Schedule("a1")).Should().Equal(["c-seed"], "when neither the zone nor the region holds the blob, anywhere will do");
        swarm.Inspect("a1").ZoneLeader.Should().BeTrue();
    }

    [Fact]
    public void Schedule_ZoneHasItsLeader_ZoneMateGetsTheLeaderBeforeItHasPiecesNotTheRemoteSeed()
    {
        var swarm = ThreeZones("a1", "a2", "c-seed");
        swarm.Peer("a1").Peer("a2").Seed("c-seed");
        ParentIds(swarm.Schedule("a1")).Should().Equal(["c-seed"]);

        var decision = swarm.Schedule("a2");

        ParentIds(decision).Should().Equal(["a1"], "za's leader will have the whole blob; a second cross-zone copy would double the zone's traffic");
        swarm.Inspect("a2").ZoneLeader.Should().BeFalse();
    }

    [Fact]
    public void Schedule_LeaderBusy_ZoneMateWaitsInsteadOfCrossingTheBoundaryOrGoingToTheOrigin()
    {
        var swarm = ThreeZones(o => o.BackToSourceQuota = 2, "a1", "a2", "c1");
        swarm.Peer("c1").Peer("a1").Peer("a2");
        swarm.Schedule("c1").Outcome.Should().Be(ScheduleOutcome.BackToSource, "the first peer of the task reads the origin");
        ParentIds(swarm.Schedule("a1")).Should().Equal(["c1"]);
        swarm.Scheduler.Heartbeat("a1", currentUploads: 4).Should().BeTrue(); // every upload slot of a1 busy

        var decision = swarm.Schedule("a2");

        decision.Outcome.Should().Be(ScheduleOutcome.Wait, "za has its leader: a2 neither takes c1 across the boundary nor the free origin slot");
    }

    [Fact]
    public void Schedule_ThreeZonesPullingAtOnce_OneOriginCopyAndOneLeaderPerZone()
    {
        var swarm = ThreeZones("a1", "a2", "b1", "b2", "c1", "c2");
        foreach (var id in new[] { "a1", "a2", "b1", "b2", "c1", "c2" })
        {
            swarm.Peer(id);
        }

        swarm.Schedule("a1").Outcome.Should().Be(ScheduleOutcome.BackToSource, "the first asker reads the origin");
        ParentIds(swarm.Schedule("a2")).Should().Equal(["a1"]);
        ParentIds(swarm.Schedule("b1")).Should().Equal(["a1"], "zb pulls from za, its region, through one leader");
        ParentIds(swarm.Schedule("b2")).Should().Equal(["b1"]);
        ParentIds(swarm.Schedule("c1")).Should().BeSubsetOf(["a1", "b1"], "zc's leader takes the other region's leaders").And.NotBeEmpty();
        ParentIds(swarm.Schedule("c2")).Should().Equal(["c1"]);

        foreach (var id in new[] { "a2", "b2", "c2" })
        {
            swarm.Inspect(id).ZoneLeader.Should().BeFalse("{0} takes the blob from its zone's leader", id);
            swarm.Inspect(id).BackToSourceSlot.Should().Be(-1);
        }

        foreach (var id in new[] { "a1", "b1", "c1" })
        {
            swarm.Inspect(id).ZoneLeader.Should().BeTrue("{0} is the first of its zone", id);
        }
    }

    [Fact]
    public void Schedule_LeaderLeaves_ZoneMateBecomesTheLeader()
    {
        var swarm = ThreeZones("a1", "a2", "c-seed");
        swarm.Peer("a1").Peer("a2").Seed("c-seed");
        swarm.Schedule("a1");
        ParentIds(swarm.Schedule("a2")).Should().Equal(["a1"]);

        swarm.Scheduler.Leave(Swarm.Blob, "a1");
        swarm.Scheduler.Sweep().Orphaned.Should().ContainSingle().Which.HostId.Should().Be("a2");

        ParentIds(swarm.Schedule("a2")).Should().Equal(["c-seed"], "za has no leader left, so the next child of za leads it");
        swarm.Inspect("a2").ZoneLeader.Should().BeTrue();
    }

    [Fact]
    public void Schedule_LeaderHostExpires_ZoneMateBecomesTheLeader()
    {
        var swarm = ThreeZones("a1", "a2", "c-seed");
        swarm.Peer("a1").Peer("a2").Seed("c-seed");
        swarm.Schedule("a1");
        ParentIds(swarm.Schedule("a2")).Should().Equal(["a1"]);

        swarm.Advance(swarm.Scheduler.Options.HostExpiry + TimeSpan.FromSeconds(1), "a2", "c-seed");
        swarm.Scheduler.Sweep().ExpiredHosts.Should().Equal(["a1"]);

        ParentIds(swarm.Schedule("a2")).Should().Equal(["c-seed"]);
        swarm.Inspect("a2").ZoneLeader.Should().BeTrue();
    }

    [Fact]
    public void Schedule_LeaderFailsItsDownload_ZoneMateBecomesTheLeader()
    {
        var swarm = ThreeZones("a1", "a2", "c-seed");
        swarm.Peer("a1").Peer("a2").Seed("c-seed");
        swarm.Schedule("a1");
        swarm.Schedule("a2");

        swarm.Scheduler.DownloadFailed(Swarm.Blob, "a1");

        ParentIds(swarm.Schedule("a2")).Should().Equal(["c-seed"]);
        swarm.Inspect("a2").ZoneLeader.Should().BeTrue();
    }

    [Fact]
    public void Schedule_LeaderFinished_StaysTheZoneSourceSoNoSecondCrossZoneCopy()
    {
        var swarm = ThreeZones(o => o.FanOutLimit = 1, "a1", "a2", "a3", "c-seed", "c-seed2");
        swarm.Peer("a1").Peer("a2").Peer("a3").Seed("c-seed").Seed("c-seed2");
        swarm.Schedule("a1");
        swarm.Scheduler.DownloadFinished(Swarm.Blob, "a1");
        ParentIds(swarm.Schedule("a2")).Should().Equal(["a1"]);

        var decision = swarm.Schedule("a3");

        decision.Outcome.Should().Be(ScheduleOutcome.Wait, "a1 feeds its one allowed child and a2 has nothing yet; za already has a whole copy");
        swarm.Scheduler.PieceFinished(Swarm.Blob, "a2", 0);
        ParentIds(swarm.Schedule("a3")).Should().Equal(["a2"]);
    }

    [Fact]
    public void Schedule_TwoLeadersAllowed_SecondLeadsOnlyWhenTheFirstCannotTakeIt()
    {
        var swarm = ThreeZones(o => { o.ZoneLeaders = 2; o.FanOutLimit = 1; o.CandidateParentCount = 1; }, "a1", "a2", "a3", "a4", "c-seed", "c-seed2");
        swarm.Peer("a1").Peer("a2").Peer("a3").Peer("a4").Seed("c-seed").Seed("c-seed2");
        ParentIds(swarm.Schedule("a1")).Should().ContainSingle();
        ParentIds(swarm.Schedule("a2")).Should().Equal(["a1"], "the zone's leader is offered before a second one is made");

        ParentIds(swarm.Schedule("a3")).Should().ContainSingle().Which.Should().StartWith("c-seed", "a1 is full, so a3 becomes za's second leader");
        swarm.Inspect("a3").ZoneLeader.Should().BeTrue();
        swarm.Schedule("a4").Parents.Should().ContainSingle().Which.HostId.Should().Be("a3");
    }

    [Fact]
    public void Schedule_ZoneLeadersZero_MixesZonesByScore()
    {
        var swarm = ThreeZones(o => o.ZoneLeaders = 0, "a1", "a-seed", "b-seed", "c-seed");
        swarm.Peer("a1").Seed("a-seed").Seed("b-seed").Seed("c-seed");

        ParentIds(swarm.Schedule("a1")).Should().Equal(["a-seed", "b-seed", "c-seed"], "with zone-first off, topology only ranks");
        swarm.Inspect("a1").ZoneLeader.Should().BeFalse();
    }

    [Fact]
    public void Schedule_UnlabelledChild_MixesZonesByScore()
    {
        var swarm = ThreeZones("a-seed", "b-seed").Host("plain", zone: "", region: "");
        swarm.Peer("plain").Seed("a-seed").Seed("b-seed");

        ParentIds(swarm.Schedule("plain")).Should().BeEquivalentTo(["a-seed", "b-seed"], "a child without labels has no zone to keep traffic in");
    }

    [Fact]
    public void Schedule_StripedBackToSource_EachStripeHolderLeadsItsZone()
    {
        var swarm = ThreeZones(o => { o.StripeBackToSource = true; o.BackToSourceQuota = 2; }, "a1", "a2", "b1");
        swarm.Peer("a1").Peer("b1").Peer("a2");
        swarm.Schedule("a1").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        swarm.Schedule("b1").Outcome.Should().Be(ScheduleOutcome.BackToSource);

        var decision = swarm.Schedule("a2");

        ParentIds(decision).Should().Equal(["a1"], "za's stripe holder leads za and brings in b1's stripe for it");
        swarm.Inspect("a1").ZoneLeader.Should().BeTrue();
        swarm.Inspect("b1").ZoneLeader.Should().BeTrue();
    }

    [Fact]
    public void Schedule_BackToSourceHolderStalls_ItStopsLeadingAndAZoneMateTakesOver()
    {
        var swarm = ThreeZones("a1", "a2");
        swarm.Peer("a1").Peer("a2");
        swarm.Schedule("a1").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        swarm.Inspect("a1").ZoneLeader.Should().BeTrue();
        swarm.Schedule("a2").Outcome.Should().Be(ScheduleOutcome.Parents);

        swarm.Advance(swarm.Scheduler.Options.BackToSourceStallTimeout + TimeSpan.FromSeconds(1), "a1", "a2");
        swarm.Scheduler.Sweep().RevokedBackToSource.Should().ContainSingle().Which.HostId.Should().Be("a1");

        swarm.Inspect("a1").ZoneLeader.Should().BeFalse("a stalled origin reader brings nothing into its zone");
        swarm.Schedule("a2").Outcome.Should().Be(ScheduleOutcome.BackToSource, "the slot and za's lead pass to the next asker");
        swarm.Inspect("a2").ZoneLeader.Should().BeTrue();
    }

    private static Swarm ThreeZones(params string[] hosts) => ThreeZones(null, hosts);

    private static Swarm ThreeZones(Action<SchedulerOptions>? configure, params string[] hosts)
    {
        var swarm = new Swarm(configure);
        foreach (var id in hosts)
        {
            var zone = "z" + id[0];
            swarm.Host(id, zone: zone, region: zone == "zc" ? "r2" : "r1");
        }

        return swarm;
    }

    private static string[] ParentIds(ScheduleDecision decision) => [.. decision.Parents.Select(p => p.HostId)];
}
