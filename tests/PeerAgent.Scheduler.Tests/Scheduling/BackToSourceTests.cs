using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

public class BackToSourceTests
{
    [Fact]
    public void Schedule_FirstPeerOfATask_GetsBackToSourceForTheWholeBlob()
    {
        var swarm = new Swarm().Host("a");
        swarm.Peer("a");

        var decision = swarm.Schedule("a");

        decision.Outcome.Should().Be(ScheduleOutcome.BackToSource);
        decision.Stripe.Should().Be(new PieceRange(0, Swarm.PieceCount));
        swarm.Inspect("a").State.Should().Be(PeerState.BackToSource);
    }

    [Fact]
    public void Schedule_SecondPeer_FetchesFromTheBackToSourcePeerBeforeItHasPieces()
    {
        var swarm = new Swarm().Host("a").Host("b");
        swarm.Peer("a").Peer("b");
        swarm.Schedule("a");

        var decision = swarm.Schedule("b");

        decision.Outcome.Should().Be(ScheduleOutcome.Parents, "the quota of 1 is taken");
        decision.Parents.Should().ContainSingle().Which.HostId.Should().Be("a");
    }

    [Fact]
    public void Schedule_QuotaFullAndNoUsefulParent_WaitsInsteadOfGoingToTheOrigin()
    {
        var swarm = new Swarm().Host("a").Host("b");
        swarm.Peer("a").Peer("b");
        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        swarm.Scheduler.Heartbeat("a", currentUploads: 4);

        var decision = swarm.Schedule("b");

        decision.Outcome.Should().Be(ScheduleOutcome.Wait, "the only source is busy and the origin quota is spent");
        decision.Parents.Should().BeEmpty();
        decision.RetryAfter.Should().Be(swarm.Scheduler.Options.WaitRetryInterval);
    }

    [Fact]
    public void Schedule_BackToSourcePeerDies_NextAskerTakesOver()
    {
        var swarm = new Swarm(o => o.HostExpiry = TimeSpan.FromSeconds(10)).Host("a").Host("b");
        swarm.Peer("a").Peer("b");
        swarm.Schedule("a");
        swarm.Scheduler.Heartbeat("a", currentUploads: 4);
        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.Wait);

        swarm.Advance(TimeSpan.FromSeconds(11), "b");

        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.BackToSource, "a stopped heartbeating, so its slot is free");
    }

    [Fact]
    public void ParentCorrupt_FinishedSeedServedWrongBytes_LeavesTheTaskAndItsSlotGoesToTheNextAsker()
    {
        var swarm = new Swarm().Host("a").Host("b").Host("c");
        swarm.Peer("a").Peer("b").Peer("c");
        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        swarm.Scheduler.DownloadFinished(Swarm.Blob, "a");
        swarm.Schedule("b").Parents.Select(p => p.HostId).Should().Contain("a");
        swarm.Schedule("c").Parents.Select(p => p.HostId).Should().Contain("a");

        swarm.Scheduler.ParentCorrupt(Swarm.Blob, "b", "a").Should().BeTrue();

        swarm.Scheduler.Inspect(Swarm.Blob, "a").Should().BeNull("a's copy is bad: no child may be sent to it again");
        swarm.Scheduler.Sweep().Orphaned.Should().Contain(new PeerRef(Swarm.Blob, "c"), "c lost a as a parent and needs a new decision");
        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.BackToSource, "the finished seed's slot was freed with it");
    }

    [Fact]
    public void PieceFailed_NotCorrupt_KeepsTheParentInTheTask()
    {
        var swarm = new Swarm().Host("a").Host("b");
        swarm.Peer("a").Peer("b");
        swarm.Schedule("a");
        swarm.Schedule("b");

        swarm.Scheduler.PieceFailed(Swarm.Blob, "b", 0, "a");

        swarm.Scheduler.Inspect(Swarm.Blob, "a").Should().NotBeNull("one failed transfer says nothing about a's copy");
        swarm.Inspect("a").BackToSourceSlot.Should().Be(0);
    }

    [Fact]
    public void Schedule_BackToSourcePeerStalls_NextAskerTakesOverAndSweepReportsTheRevocation()
    {
        var swarm = new Swarm(o => o.BackToSourceStallTimeout = TimeSpan.FromSeconds(5)).Host("a").Host("b").Host("c");
        swarm.Peer("a").Peer("b").Peer("c");
        swarm.Schedule("a");
        swarm.Schedule("b").Parents.Should().ContainSingle().Which.HostId.Should().Be("a");

        swarm.Advance(TimeSpan.FromSeconds(6), "a", "b", "c");

        swarm.Schedule("c").Outcome.Should().Be(ScheduleOutcome.BackToSource, "a reported no piece for longer than the stall timeout");
        swarm.Inspect("a").State.Should().Be(PeerState.Running);
        var sweep = swarm.Scheduler.Sweep();
        sweep.RevokedBackToSource.Should().Equal(new PeerRef(Swarm.Blob, "a"));
        sweep.Orphaned.Should().Contain(new PeerRef(Swarm.Blob, "b"), "b was waiting on a stripe a will no longer fetch");
    }

    [Fact]
    public void Schedule_BackToSourcePeerReportsProgress_KeepsItsSlot()
    {
        var swarm = new Swarm(o => o.BackToSourceStallTimeout = TimeSpan.FromSeconds(5)).Host("a").Host("c");
        swarm.Peer("a").Peer("c");
        swarm.Schedule("a");
        for (var piece = 0; piece < 3; piece++)
        {
            swarm.Advance(TimeSpan.FromSeconds(3), "a", "c");
            swarm.Scheduler.PieceFinished(Swarm.Blob, "a", piece);
        }

        var decision = swarm.Schedule("c");

        decision.Outcome.Should().Be(ScheduleOutcome.Parents, "9 s passed but a never went 5 s without a piece");
        swarm.Inspect("a").BackToSourceSlot.Should().Be(0);
    }

    [Fact]
    public void Schedule_Striping_GrantsEverySlotADisjointStripeThenOffersTheStripersAsParents()
    {
        var swarm = new Swarm(o => { o.BackToSourceQuota = 3; o.StripeBackToSource = true; })
            .Host("a").Host("b").Host("c").Host("d");
        swarm.Peer("a").Peer("b").Peer("c").Peer("d");

        var stripes = new[] { swarm.Schedule("a"), swarm.Schedule("b"), swarm.Schedule("c") };
        var fourth = swarm.Schedule("d");

        stripes.Should().OnlyContain(s => s.Outcome == ScheduleOutcome.BackToSource);
        var covered = new int[Swarm.PieceCount];
        foreach (var decision in stripes)
        {
            for (var i = decision.Stripe.Start; i < decision.Stripe.End; i++)
            {
                covered[i]++;
            }
        }

        covered.Should().OnlyContain(c => c == 1, "the stripes must be disjoint and cover every piece");
        fourth.Outcome.Should().Be(ScheduleOutcome.Parents);
        fourth.Parents.Should().HaveCount(3);
    }

    [Fact]
    public void Schedule_StripingAndSwarmAlreadyHoldsAStripe_DoesNotGrantThatStripe()
    {
        var swarm = new Swarm(o => { o.BackToSourceQuota = 2; o.StripeBackToSource = true; })
            .Host("holder").Host("a");
        swarm.Peer("holder", Swarm.Range(0, Swarm.PieceCount / 2)).Peer("a");

        var decision = swarm.Schedule("a");

        decision.Outcome.Should().Be(ScheduleOutcome.BackToSource);
        decision.Stripe.Should().Be(new PieceRange(Swarm.PieceCount / 2, Swarm.PieceCount), "the first half is already in the swarm");
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 3)]
    [InlineData(7, 7)]
    [InlineData(5, 8)]
    [InlineData(500, 6)]
    [InlineData(0, 2)]
    public void BackToSourceStripes_Range_DisjointContiguousAndCoversEveryPiece(int pieces, int stripes)
    {
        var next = 0;
        for (var i = 0; i < stripes; i++)
        {
            var range = BackToSourceStripes.Range(pieces, stripes, i);
            range.Start.Should().Be(next, "stripe {0} starts where stripe {1} ended", i, i - 1);
            range.Length.Should().BeInRange(pieces / stripes, (pieces / stripes) + 1, "stripes are balanced");
            next = range.End;
        }

        next.Should().Be(pieces);
    }
}
