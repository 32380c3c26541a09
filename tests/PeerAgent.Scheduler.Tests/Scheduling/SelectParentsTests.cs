using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

public class SelectParentsTests
{
    [Fact]
    public void SelectParents_SeedsAtEveryDistance_RanksSameNodeThenZoneThenRegionThenRemote()
    {
        // Zone-first off: this is about the score; ZoneSelectionTests covers the rings.
        var swarm = new Swarm(o => o.ZoneLeaders = 0)
            .Host("child", node: "n1", zone: "z1", region: "r1")
            .Host("remote", node: "n4", zone: "z9", region: "r2")
            .Host("region", node: "n3", zone: "z2", region: "r1")
            .Host("zone", node: "n2", zone: "z1", region: "r1")
            .Host("node", node: "n1", zone: "z1", region: "r1");
        swarm.Peer("child").Seed("remote").Seed("region").Seed("zone").Seed("node");

        swarm.Select("child").Should().Equal(["node", "zone", "region", "remote"], "equal pieces and load leave topology to decide");
    }

    [Fact]
    public void SelectParents_SameZoneNameInAnotherRegion_NotTreatedAsSameZone()
    {
        var swarm = new Swarm()
            .Host("child", zone: "a", region: "r1")
            .Host("elsewhere", zone: "a", region: "r2")
            .Host("region", zone: "b", region: "r1");
        swarm.Peer("child").Seed("elsewhere").Seed("region");

        swarm.Select("child").Should().Equal(["region"], "zone 'a' of r2 is not the child's zone 'a' of r1, so the child's region comes first");
    }

    [Fact]
    public void SelectParents_SameTopology_PrefersMoreUsefulPieces()
    {
        var swarm = new Swarm().Host("child").Host("few").Host("many").Host("useless");
        swarm.Peer("child", 0, 1)
            .Peer("few", Swarm.Range(0, 4))
            .Peer("many", Swarm.Range(0, 10))
            .Peer("useless", 0, 1);

        swarm.Select("child").Should().Equal(["many", "few"], "'useless' only has pieces the child already has");
    }

    [Fact]
    public void SelectParents_ParentAtFanOutLimit_Skipped()
    {
        var swarm = new Swarm(o => { o.FanOutLimit = 1; o.CandidateParentCount = 1; })
            .Host("first").Host("second").Host("busy", zone: "z1").Host("other", zone: "z2");
        swarm.Peer("first").Peer("second").Seed("busy").Seed("other");
        swarm.Schedule("first").Parents.Should().ContainSingle().Which.HostId.Should().Be("busy");

        swarm.Select("second").Should().Equal(["other"], "'busy' already feeds its one allowed child");
    }

    [Fact]
    public void SelectParents_ParentUploadSlotsFull_Skipped()
    {
        var swarm = new Swarm(o => o.ZoneLeaders = 0).Host("child").Host("full", slots: 2).Host("free", zone: "z2");
        swarm.Peer("child").Seed("full").Seed("free");
        swarm.Select("child").Should().Equal(["full", "free"], "the same-zone parent wins while it has slots");

        swarm.Scheduler.Heartbeat("full", currentUploads: 2).Should().BeTrue();

        swarm.Select("child").Should().Equal(["free"], "a host with every upload slot busy cannot serve");
    }

    [Fact]
    public void SelectParents_ChainAToBToC_NeverOffersADescendantOfA()
    {
        var swarm = new Swarm(o => { o.FanOutLimit = 2; o.CandidateParentCount = 1; })
            .Host("a").Host("b").Host("c");
        swarm.Peer("a").Peer("b").Peer("c");
        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        swarm.Schedule("b").Parents.Should().ContainSingle().Which.HostId.Should().Be("a");
        swarm.Scheduler.PieceFinished(Swarm.Blob, "b", 0);
        swarm.Scheduler.Heartbeat("a", currentUploads: 4); // a busy, so c has to take b
        swarm.Schedule("c").Parents.Should().ContainSingle().Which.HostId.Should().Be("b");
        swarm.Scheduler.Heartbeat("a", currentUploads: 0);
        swarm.Scheduler.PieceFinished(Swarm.Blob, "c", 1);

        swarm.Select("a").Should().BeEmpty("b and c hold pieces a lacks, but both descend from a");

        swarm.Host("d").Peer("d", 0);
        swarm.Select("a").Should().Equal(["d"]);
    }

    [Fact]
    public void Schedule_RandomReschedulesInALargeSwarm_ParentGraphStaysAcyclic()
    {
        var swarm = new Swarm(o => { o.FanOutLimit = 3; o.CandidateSampleSize = 8; o.CandidateParentCount = 2; });
        var random = new Random(7);
        const int Peers = 120;
        for (var i = 0; i < Peers; i++)
        {
            var id = "p" + i;
            swarm.Host(id, zone: "z" + (i % 3), region: "r" + (i % 2));
            swarm.Peer(id, random.Next(Swarm.PieceCount), random.Next(Swarm.PieceCount));
        }

        for (var round = 0; round < 2000; round++)
        {
            swarm.Schedule("p" + random.Next(Peers));
        }

        for (var i = 0; i < Peers; i++)
        {
            HasCycleFrom(swarm, "p" + i, [], []).Should().BeFalse($"p{i} must not reach itself through its parents");
        }
    }

    [Fact]
    public void SelectParents_FailuresReported_DemotesThatParent()
    {
        // Zone-first off: this is about the score, which ranks within a ring too.
        var swarm = new Swarm(o => o.ZoneLeaders = 0).Host("child", zone: "z1").Host("near", zone: "z1").Host("far", zone: "z2");
        swarm.Peer("child").Seed("near").Seed("far");
        swarm.Select("child").Should().Equal(["near", "far"]);

        swarm.Scheduler.PieceFailed(Swarm.Blob, "child", 3, "near").Should().BeFalse("one failure is below the limit");

        swarm.Select("child").Should().Equal(["far", "near"], "a failing parent ranks below a healthy one further away");
    }

    [Fact]
    public void PieceFailed_AtFailureLimit_DropsParentAndNeverOffersItAgain()
    {
        var swarm = new Swarm(o => o.ParentFailureLimit = 2).Host("child").Host("bad").Host("good");
        swarm.Peer("child").Seed("bad").Seed("good");
        swarm.Schedule("child").Parents.Should().HaveCount(2);

        swarm.Scheduler.PieceFailed(Swarm.Blob, "child", 0, "bad").Should().BeFalse();
        swarm.Scheduler.PieceFailed(Swarm.Blob, "child", 1, "bad").Should().BeTrue();

        swarm.Inspect("child").Parents.Should().Equal(["good"]);
        swarm.Inspect("bad").Children.Should().BeEmpty();
        swarm.Select("child").Should().Equal(["good"]);
    }

    [Fact]
    public void ParentFailed_DropsParentAtOnce()
    {
        var swarm = new Swarm().Host("child").Host("p1").Host("p2");
        swarm.Peer("child").Seed("p1").Seed("p2");
        swarm.Schedule("child");

        swarm.Scheduler.ParentFailed(Swarm.Blob, "child", "p1");

        swarm.Inspect("child").Parents.Should().Equal(["p2"]);
    }

    [Fact]
    public void SelectParents_ParentHostSilentPastExpiry_NotOfferedEvenBeforeSweep()
    {
        var swarm = new Swarm().Host("child").Host("silent").Host("alive", zone: "z2");
        swarm.Peer("child").Seed("silent").Seed("alive");

        swarm.Advance(TimeSpan.FromSeconds(11), "child", "alive");

        swarm.Select("child").Should().Equal(["alive"]);
    }

    [Fact]
    public void SelectParents_TaskFarLargerThanTheSample_StillFindsSameZoneParents()
    {
        var swarm = new Swarm(o => o.CandidateSampleSize = 16).Host("child", zone: "home", region: "r1");
        swarm.Peer("child");
        for (var i = 0; i < 500; i++)
        {
            var id = "far" + i;
            swarm.Host(id, zone: "z" + (i % 5), region: "r2").Seed(id);
        }

        for (var i = 0; i < 10; i++)
        {
            var id = "near" + i;
            swarm.Host(id, zone: "home", region: "r1").Seed(id);
        }

        var chosen = swarm.Select("child", max: 4);

        chosen.Should().HaveCount(4).And.OnlyContain(id => id.StartsWith("near", StringComparison.Ordinal),
            "the zone pool is sampled first, so 10 same-zone seeds among 510 are found without scanning them all");
    }

    private static bool HasCycleFrom(Swarm swarm, string id, HashSet<string> path, HashSet<string> done)
    {
        if (done.Contains(id))
        {
            return false;
        }

        if (!path.Add(id))
        {
            return true;
        }

        foreach (var parent in swarm.Inspect(id).Parents)
        {
            if (HasCycleFrom(swarm, parent, path, done))
            {
                return true;
            }
        }

        path.Remove(id);
        done.Add(id);
        return false;
    }
}
