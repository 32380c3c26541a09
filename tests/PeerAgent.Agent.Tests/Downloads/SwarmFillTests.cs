using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Agent.Downloads;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Tests.Downloads;

/// <summary>
/// The swarm fill against fake parents, a fake scheduler session and a fake origin, on a fake clock: stalls,
/// revoked grants, corrupt, failing and slow parents, and a parent whose download commits. Rarest-first picking
/// is in <see cref="PiecePickerTests"/>: through the fill, the order of the parents' listings would decide it.
/// </summary>
public sealed class SwarmFillTests : IAsyncLifetime
{
    private const int PieceBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan RealDeadline = TimeSpan.FromSeconds(60);

    private readonly FakeTimeProvider _time = new();
    private readonly byte[] _content = RandomNumberGenerator.GetBytes((3 * PieceBytes) - 1000); // three pieces
    private TempContentStore _temp = null!;
    private PartialBlob _partial = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempContentStore.CreateAsync();
        _partial = _temp.Store.OpenPartialOrFail(Digest.Compute(_content), _content.Length);
    }

    public Task DisposeAsync()
    {
        _partial.Dispose();
        _temp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Fill_ParentsOfferNothing_StallsThenReadsEverythingFromTheOrigin()
    {
        var idle = new FakeParent("idle", _content).Announce(); // holds nothing, stays connected
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(idle));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(idle), stallTimeout: TimeSpan.FromSeconds(5));

        await DriveAsync(fill.FillAsync(session, "no_scheduler", null, default));

        origin.Opens.Should().Be(1, "after the stall timeout the whole blob is read from the origin once");
        fill.OriginBytes.Should().Be(_content.Length);
        fill.PeerBytes.Should().Be(0);
        session.Reschedules.Should().BeGreaterThan(0, "while no parent has anything useful the fill asks the scheduler again");
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_BackToSourceRevoked_StopsReadingTheOriginAndFinishesFromTheNewParent()
    {
        var origin = new FakeOrigin(_content) { Stalled = true };
        var parent = new FakeParent("parent", _content).AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.BackToSource());
        var fill = NewFill(origin, new FakeParents(parent));

        var run = fill.FillAsync(session, "no_scheduler", null, default);
        await WaitForAsync(() => origin.Opens == 1);
        session.Decide(FakeSession.Parents(parent)); // the grant went to another peer
        await DriveAsync(run);

        await origin.ReadCancelled.Task.WaitAsync(RealDeadline);
        fill.OriginBytes.Should().Be(0);
        fill.PeerBytes.Should().Be(_content.Length);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_ParentServesWrongBytes_ReportsItCorruptAndNeverAsksItAgain()
    {
        var bad = new FakeParent("bad", _content) { Behaviour = ParentBehaviour.Corrupt }.AnnounceAll();
        var good = new FakeParent("good", _content).AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(bad));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(bad, good), maxInFlight: 1);

        var run = fill.FillAsync(session, "no_scheduler", null, default);
        await WaitForAsync(() => session.ParentFailures.Contains("bad"));
        session.Decide(FakeSession.Parents(bad, good)); // the scheduler names it again: it must stay out
        await DriveAsync(run);

        bad.Requests.Should().HaveCount(1, "wrong bytes drop a parent at once, for good");
        bad.SyncCalls.Should().Be(1, "a corrupt parent is not followed again when offered again");
        session.PieceFailures.Should().ContainSingle(f => f.Parent == "bad" && f.Corrupt);
        fill.PeerBytes.Should().Be(_content.Length);
        origin.Opens.Should().Be(0);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_ParentFailsTwice_IsDroppedAndTheNextParentFinishes()
    {
        var failing = new FakeParent("failing", _content) { Behaviour = ParentBehaviour.Refuse }.AnnounceAll();
        var next = new FakeParent("next", _content).AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(failing));
        var fill = NewFill(new FakeOrigin(_content), new FakeParents(failing, next), maxInFlight: 1);

        var run = fill.FillAsync(session, "no_scheduler", null, default);
        await WaitForAsync(() => session.ParentFailures.Contains("failing"));
        session.Decide(FakeSession.Parents(next));
        await DriveAsync(run);

        failing.Requests.Should().HaveCount(SwarmFill.ParentFailureLimit);
        session.PieceFailures.Where(f => f.Parent == "failing").Should().HaveCount(SwarmFill.ParentFailureLimit).And.OnlyContain(f => !f.Corrupt);
        next.Requests.Should().HaveCount(3);
        fill.PeerBytes.Should().Be(_content.Length);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_ParentSlowButSteady_IsKeptPastThePieceTimeout()
    {
        // Each piece takes 5 s (5 chunks 1 s apart) against a 3 s PieceTimeout: an idle timeout keeps the parent, a
        // deadline per piece would drop it after two pieces and send the rest to the origin.
        var steady = new FakeParent("steady", _content) { Behaviour = ParentBehaviour.Drip, Time = _time }.AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(steady));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(steady), maxInFlight: 1, pieceTimeout: TimeSpan.FromSeconds(3), stallTimeout: TimeSpan.FromSeconds(3));

        await DriveAsync(fill.FillAsync(session, "no_scheduler", null, default));

        session.ParentFailures.Should().BeEmpty("a parent that keeps sending is not slow");
        session.PieceFailures.Should().BeEmpty();
        fill.PeerBytes.Should().Be(_content.Length, "every piece came from the steady parent, none from the origin");
        origin.Opens.Should().Be(0, "bytes from a parent count as progress, so the fill never stalls to the origin");
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_SlowParent_TimesOutOnTheFillsClockAndCountsAsAFailure()
    {
        var slow = new FakeParent("slow", _content) { Behaviour = ParentBehaviour.Hang }.AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(slow));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(slow), maxInFlight: 1, pieceTimeout: TimeSpan.FromSeconds(3), stallTimeout: TimeSpan.FromMinutes(10));

        var run = fill.FillAsync(session, "no_scheduler", null, default);
        await WaitForAsync(() => session.ParentFailures.Contains("slow"));
        session.Break(); // no scheduler any more, no useful parent: the origin
        await DriveAsync(run);

        slow.Requests.Should().HaveCount(SwarmFill.ParentFailureLimit);
        session.PieceFailures.Should().OnlyContain(f => f.Parent == "slow" && !f.Corrupt);
        fill.OriginBytes.Should().Be(_content.Length);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_ParentCommitsWhileServing_KeepsUsingWhatItAnnounced()
    {
        var parent = new FakeParent("parent", _content).Announce(0);
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(parent));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(parent), maxInFlight: 1);

        var run = fill.FillAsync(session, "no_scheduler", null, default);
        await WaitForAsync(() => parent.Requests.Count == 1);
        parent.Announce(1, 2);
        parent.EndSync(); // its own download committed: the stream ends, the pieces stay
        await DriveAsync(run);

        parent.Requests.Should().BeEquivalentTo([0, 1, 2]);
        session.ParentFailures.Should().BeEmpty("a parent whose stream ends normally is not a failed parent");
        origin.Opens.Should().Be(0);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_ParentInAnotherZoneOfTheRegion_CountsItsBytesAsRegion()
    {
        // Only this test runs a fill with zones (the others leave this agent unlabelled: "unknown"), so the
        // process-wide counter's "region" child moves by exactly this fill's bytes.
        var region = Agent.Peers.PeerMetrics.ReceivedBytes(PeerLocality.Region);
        var zone = Agent.Peers.PeerMetrics.ReceivedBytes(PeerLocality.Zone);
        var (regionBefore, zoneBefore) = (region.Value, zone.Value);
        var parent = new FakeParent("neighbour", _content).AnnounceAll();
        parent.Peer.Zone = "zb";
        parent.Peer.Region = "r1";
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(parent));
        var origin = new FakeOrigin(_content);
        var fill = NewFill(origin, new FakeParents(parent), zone: "za", region: "r1");

        await DriveAsync(fill.FillAsync(session, "no_scheduler", null, default));

        fill.PeerBytes.Should().Be(_content.Length);
        (region.Value - regionBefore).Should().Be(_content.Length, "the parent sits in zone zb of this agent's region r1");
        (zone.Value - zoneBefore).Should().Be(0);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_PiecesStillSettlingWhenTheBlobCompletes_StillCountsTheirBytes()
    {
        // Two parents: one takes at most two pieces at a time, and none of these requests returns.
        var first = new FakeParent("settling-1", _content) { Behaviour = ParentBehaviour.StoreThenHang }.AnnounceAll();
        var second = new FakeParent("settling-2", _content) { Behaviour = ParentBehaviour.StoreThenHang }.AnnounceAll();
        var session = new FakeSession();
        session.Decide(FakeSession.Parents(first, second));
        var fill = NewFill(new FakeOrigin(_content), new FakeParents(first, second), pieceTimeout: TimeSpan.FromHours(1));

        await DriveAsync(fill.FillAsync(session, "no_scheduler", null, default));

        fill.PeerBytes.Should().Be(_content.Length, "every piece was stored from the parent, though no request returned before the blob was complete");
        fill.OriginBytes.Should().Be(0);
        await CommitAndCheckAsync();
    }

    [Fact]
    public async Task Fill_NoSession_ReadsTheOriginAndReportsEveryPieceUp()
    {
        var origin = new FakeOrigin(_content);
        var progress = new RecordingProgress();
        var fill = NewFill(origin, new FakeParents(), progress: progress);

        await DriveAsync(fill.FillAsync(null, "no_scheduler", null, default));

        progress.Stored.Should().BeEquivalentTo([0, 1, 2]);
        progress.Available.Should().BeGreaterThan(0, "the first piece streams to readers while it is written");
        await CommitAndCheckAsync();
    }

    private SwarmFill NewFill(
        FakeOrigin origin,
        FakeParents parents,
        int maxInFlight = 4,
        TimeSpan? pieceTimeout = null,
        TimeSpan? stallTimeout = null,
        RecordingProgress? progress = null,
        string zone = "",
        string region = "") =>
        new(
            _partial,
            progress ?? new RecordingProgress(),
            origin.OpenAsync,
            parents,
            new FillSettings(maxInFlight, pieceTimeout ?? TimeSpan.FromMinutes(5), stallTimeout ?? TimeSpan.FromMinutes(5), "self", MaxOriginResumes: 2, TimeSpan.FromMinutes(30), zone, region),
            _time,
            NullLogger.Instance);

    /// <summary>Lets the fill run, moving its clock on in small steps, until it ends (bounded in real time).</summary>
    private async Task DriveAsync(Task run)
    {
        var clock = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            clock.Elapsed.Should().BeLessThan(RealDeadline, "the fill should have finished");
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2);
        }

        await run;
    }

    private async Task WaitForAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(RealDeadline, "the condition should have held");
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2);
        }
    }

    private async Task CommitAndCheckAsync()
    {
        _partial.IsComplete.Should().BeTrue();
        await _partial.CommitAsync(default);
        _temp.Store.TryOpenRead(Digest.Compute(_content), out var reader).Should().BeTrue();
        using (reader)
        {
            var stored = new byte[_content.Length];
            for (var read = 0; read < stored.Length;)
            {
                read += await reader!.ReadAsync(read, stored.AsMemory(read), default);
            }

            stored.Should().Equal(_content);
        }
    }
}
