using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

/// <summary>A replica taking over blobs whose owner went away: the downloads register again with what they hold.</summary>
public class TakeoverTests
{
    [Fact]
    public void Schedule_TakenOverTaskFirstAskerNotReadingTheOrigin_WaitsForTheOneThatIs()
    {
        var swarm = new Swarm().Host("a").Host("b");
        Moved(swarm, "b", 0);

        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.Wait, "a download under way re-created the task: the peer reading the origin may still register");

        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length, "a", Swarm.Bitmap(0, 1, 2), moved: true, fromSource: true).Should().Be(AnnounceResult.Registered);
        swarm.Inspect("a").State.Should().Be(PeerState.BackToSource, "the slot goes back to the peer already reading the origin");
        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource);
        var b = swarm.Schedule("b");
        b.Outcome.Should().Be(ScheduleOutcome.Parents, "one origin reader is enough; b takes the pieces from it");
        b.Parents.Should().ContainSingle().Which.HostId.Should().Be("a");
    }

    [Fact]
    public void Schedule_TakeoverGraceOver_TheSlotGoesToTheNextAsker()
    {
        var swarm = new Swarm(o => o.TakeoverGrace = TimeSpan.FromSeconds(2)).Host("b");
        Moved(swarm, "b", 0);
        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.Wait);

        swarm.Advance(TimeSpan.FromSeconds(2), "b");

        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.BackToSource, "nobody reading the origin came back: someone has to");
    }

    [Fact]
    public void Schedule_TakenOverStripedTask_GrantsNoStripeDuringTheGrace()
    {
        var swarm = new Swarm(o => (o.StripeBackToSource, o.BackToSourceQuota) = (true, 2)).Host("b");
        Moved(swarm, "b", 0);

        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.Wait, "striping grants slots up front, but not to a task being taken over");
        swarm.Inspect("b").BackToSourceSlot.Should().Be(-1);
    }

    [Fact]
    public void Schedule_TaskCreatedByADownloadThatDidNotMove_NoGrace()
    {
        var swarm = new Swarm().Host("a");
        swarm.Peer("a", 0, 1);

        swarm.Schedule("a").Outcome.Should().Be(ScheduleOutcome.BackToSource, "a download resumed with pieces, not moved from another replica, starts the task without any grace");
    }

    [Fact]
    public void Announce_FromSourceButSlotTaken_StaysAChild()
    {
        var swarm = new Swarm(o => o.TakeoverGrace = TimeSpan.Zero).Host("a").Host("b");
        Moved(swarm, "b", 0);
        swarm.Schedule("b").Outcome.Should().Be(ScheduleOutcome.BackToSource);

        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length, "a", Swarm.Bitmap(1), moved: true, fromSource: true);

        swarm.Inspect("a").BackToSourceSlot.Should().Be(-1, "the quota of 1 is held; a second origin reader is not granted");
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("00:01:01")]
    public void Validate_TakeoverGraceOutOfRange_NamesTheKey(string value)
    {
        var options = new SchedulerOptions { TakeoverGrace = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        options.Validate().Should().ContainSingle().Which.Should().StartWith("Scheduler:TakeoverGrace must be between 00:00:00 and 00:01:00");
    }

    private static void Moved(Swarm swarm, string id, params int[] pieces) =>
        swarm.Scheduler.Announce(Swarm.Blob, Swarm.Length, id, Swarm.Bitmap(pieces), moved: true).Should().Be(AnnounceResult.Registered);
}
