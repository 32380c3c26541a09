using PeerAgent.Core.Oci;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

public class ReportTests
{
    [Fact]
    public void PieceFinished_FirstPiece_MakesThePeerOfferable()
    {
        var swarm = new Swarm().Host("child").Host("p");
        swarm.Peer("child").Peer("p");
        swarm.Select("child").Should().BeEmpty("p has nothing yet");

        swarm.Scheduler.PieceFinished(Swarm.Blob, "p", 5);

        swarm.Select("child").Should().Equal(["p"]);
        swarm.Inspect("p").PresentPieces.Should().Be(1);
    }

    [Fact]
    public void DownloadFinished_ChildWithParents_BecomesASeedAndReleasesItsParents()
    {
        var swarm = new Swarm().Host("child").Host("p");
        swarm.Peer("child").Seed("p");
        swarm.Schedule("child");
        swarm.Inspect("p").Children.Should().Equal("child");

        swarm.Scheduler.DownloadFinished(Swarm.Blob, "child");

        swarm.Inspect("child").State.Should().Be(PeerState.Succeeded);
        swarm.Inspect("child").PresentPieces.Should().Be(Swarm.PieceCount);
        swarm.Inspect("p").Children.Should().BeEmpty();
        swarm.Schedule("child").Outcome.Should().Be(ScheduleOutcome.Finished);
    }

    [Fact]
    public void DownloadFailed_PeerWithChildren_LeavesAndChildrenAreOrphaned()
    {
        var swarm = new Swarm().Host("child").Host("p");
        swarm.Peer("child").Peer("p", 0, 1);
        swarm.Schedule("child").Parents.Should().ContainSingle();

        swarm.Scheduler.DownloadFailed(Swarm.Blob, "p");

        swarm.Scheduler.Inspect(Swarm.Blob, "p").Should().BeNull();
        swarm.Inspect("child").Parents.Should().BeEmpty();
        swarm.Scheduler.Sweep().Orphaned.Should().Equal(new PeerRef(Swarm.Blob, "child"));
    }

    [Fact]
    public void Announce_DifferentLengthForAKnownTask_Refused()
    {
        var swarm = new Swarm().Host("a").Host("b");
        swarm.Peer("a");

        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length + 1, "b").Should().Be(AnnounceResult.LengthMismatch);
        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length, "nobody").Should().Be(AnnounceResult.UnknownHost);
        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length, "b", new byte[1]).Should().Be(AnnounceResult.BadBitmap);
    }

    [Fact]
    public void Announce_AfterASchedulerRestart_RebuildsWhatMatters()
    {
        var before = new Swarm().Host("child").Host("p");
        before.Peer("child").Peer("p", 2, 3);

        // A new scheduler knows nothing until the agents re-announce what they hold.
        var after = new Swarm().Host("child").Host("p");
        after.Schedule("child").Outcome.Should().Be(ScheduleOutcome.Unknown);
        after.Peer("child").Peer("p", 2, 3);

        after.Select("child").Should().Equal(before.Select("child"));
        after.Inspect("p").PresentPieces.Should().Be(2);
    }

    [Fact]
    public void PublishPieceDigests_WrongCount_Refused()
    {
        var swarm = new Swarm().Host("a");
        swarm.Peer("a");
        var digests = new Digest[Swarm.PieceCount];
        for (var i = 0; i < digests.Length; i++)
        {
            digests[i] = Digest.Compute([(byte)i]);
        }

        swarm.Scheduler.PublishPieceDigests(Swarm.Blob, "a", digests[..^1]).Should().BeFalse();
        swarm.Scheduler.PieceDigestsOf(Swarm.Blob).Should().BeNull();
        swarm.Scheduler.PublishPieceDigests(Swarm.Blob, "a", digests).Should().BeTrue();
        swarm.Scheduler.PieceDigestsOf(Swarm.Blob).Should().Equal(digests);
    }

    [Fact]
    public void RegisterHost_MovedToAnotherZone_RanksByTheNewZone()
    {
        var swarm = new Swarm().Host("child", zone: "z1").Host("near", zone: "z1").Host("far", zone: "z2");
        swarm.Peer("child").Seed("near").Seed("far");

        swarm.Host("near", zone: "z3").Host("far", zone: "z1");

        swarm.Select("child").Should().Equal(["far"], "far moved into the child's zone and is offered alone; near moved out");
    }
}
