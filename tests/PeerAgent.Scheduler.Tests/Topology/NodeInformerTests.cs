using PeerAgent.Scheduling.Topology;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Scheduler.Tests.Topology;

/// <summary>
/// The Node informer against <see cref="FakeKubernetesApi"/>: a fake Kubernetes API server in-process on 127.0.0.1,
/// because no real one can run here. It speaks list, chunked watch streams, bookmarks, 410 Gone and dropped
/// connections; KubernetesClient talks to it over HTTP with no authentication. Backoff runs on a fake clock.
/// </summary>
public sealed class NodeInformerTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _stop = new();
    private FakeKubernetesApi _api = null!;
    private Kubernetes? _client;
    private Task? _run;

    public async Task InitializeAsync() => _api = await FakeKubernetesApi.StartAsync();

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            // The informer must stop when asked; a hang here fails the test.
            (await Task.WhenAny(_run, Task.Delay(Deadline))).Should().BeSameAs(_run, "the informer stops when cancelled");
            await _run;
        }

        _client?.Dispose();
        await _api.DisposeAsync();
        _stop.Dispose();
    }

    [Fact]
    public async Task List_NodesExist_GivesTheirPlacementsOnceSynced()
    {
        _api.SetNode("n1", "z1", "r1");
        _api.SetNode("n2", "z2", "r1", hostname: "host-2");
        _api.SetNode("n3", zone: null, region: null);
        var informer = Start();

        await WaitSyncedAsync(informer);

        informer.IsSynced.Should().BeTrue();
        informer.IsAuthoritative.Should().BeTrue();
        informer.Count.Should().Be(3);
        informer.TryGet("n1", out var n1).Should().BeTrue();
        n1.Should().Be(new NodePlacement("z1", "r1", "n1"));
        informer.TryGet("n2", out var n2).Should().BeTrue();
        n2.Should().Be(new NodePlacement("z2", "r1", "host-2"));
        informer.TryGet("n3", out var n3).Should().BeTrue();
        n3.Should().Be(new NodePlacement("", "", "n3"), "a Node without topology labels has none");
        informer.TryGet("n4", out _).Should().BeFalse();
        _api.ListRequests.Should().Be(1);
        informer.TryGet("n2", out var again).Should().BeTrue();
        ReferenceEquals(n1.Region, again.Region).Should().BeTrue("regions are interned, one string per distinct value");
    }

    [Fact]
    public async Task List_ManyNodes_ReadsEveryPage()
    {
        _api.SeedNodes(NodeInformer.PageSize * 2 + 7, i => ($"node-{i:D5}", $"z{i % 3}", "r1"));
        var informer = Start();

        await WaitSyncedAsync(informer);

        informer.Count.Should().Be((NodeInformer.PageSize * 2) + 7);
        _api.ListRequests.Should().Be(3, "the list is read in pages of the informer's limit");
        informer.TryGet("node-01006", out var last).Should().BeTrue();
        last.Zone.Should().Be("z1");
    }

    [Fact]
    public async Task Watch_LabelChange_UpdatesTheZone()
    {
        _api.SetNode("n1", "z1", "r1");
        var informer = Start();
        await WaitSyncedAsync(informer);
        var listed = _api.ResourceVersion;
        await WaitWatchingAsync(1);

        _api.SetNode("n1", "z2", "r1");

        await Wait.UntilAsync(() => informer.TryGet("n1", out var p) && p.Zone == "z2", Deadline, "the watch delivered the new zone");
        var watch = _api.WatchRequests.Single();
        watch.ResourceVersion.Should().Be(listed.ToString(System.Globalization.CultureInfo.InvariantCulture), "the watch starts at the list's resourceVersion");
        watch.AllowBookmarks.Should().BeTrue();
        informer.ResourceVersion.Should().Be(_api.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Watch_NodeAddedThenDeleted_AppearsThenIsRemoved()
    {
        _api.SetNode("n1", "z1", "r1");
        var informer = Start();
        await WaitSyncedAsync(informer);
        await WaitWatchingAsync(1);

        _api.SetNode("n2", "z3", "r2");
        await Wait.UntilAsync(() => informer.TryGet("n2", out _), Deadline, "the added Node is known");
        _api.DeleteNode("n1");

        await Wait.UntilAsync(() => !informer.TryGet("n1", out _), Deadline, "the deleted Node is forgotten");
        informer.Count.Should().Be(1);
        informer.TryGet("n2", out var n2).Should().BeTrue();
        n2.Region.Should().Be("r2");
    }

    [Fact]
    public async Task Watch_BookmarkThenDropped_NextWatchResumesFromTheBookmark()
    {
        _api.SetNode("n1", "z1", "r1");
        var informer = Start();
        await WaitSyncedAsync(informer);
        await WaitWatchingAsync(1);

        var bookmark = _api.Bookmark().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Wait.UntilAsync(() => informer.ResourceVersion == bookmark, Deadline, "the bookmark advanced the resourceVersion");
        _api.DropWatches();

        await WaitWatchingAsync(2);
        _api.WatchRequests[1].ResourceVersion.Should().Be(bookmark, "a resumed watch starts at the last bookmark");
        _api.ListRequests.Should().Be(1, "resuming needs no list");
        informer.TryGet("n1", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Watch_DroppedAfterAnEvent_ResumesFromTheLastVersionWithoutRelisting()
    {
        _api.SetNode("n1", "z1", "r1");
        var informer = Start();
        await WaitSyncedAsync(informer);
        await WaitWatchingAsync(1);
        _api.SetNode("n1", "z2", "r1");
        await Wait.UntilAsync(() => informer.TryGet("n1", out var p) && p.Zone == "z2", Deadline, "the change arrived");
        var last = informer.ResourceVersion;

        _api.DropWatches();
        await WaitWatchingAsync(2);
        _api.SetNode("n1", "z3", "r1");

        await Wait.UntilAsync(() => informer.TryGet("n1", out var p) && p.Zone == "z3", Deadline, "the resumed watch delivers changes");
        _api.WatchRequests[1].ResourceVersion.Should().Be(last);
        _api.ListRequests.Should().Be(1, "a dropped connection is resumed, not relisted");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Watch_ResourceVersionGone_RelistsAndTheViewIsCorrect(bool asErrorEvent)
    {
        _api.GoneAsErrorEvent = asErrorEvent;
        _api.SetNode("n1", "z1", "r1");
        _api.SetNode("n2", "z1", "r1");
        var informer = Start();
        await WaitSyncedAsync(informer);
        await WaitWatchingAsync(1);

        // Drop the watch before any event: the informer backs off (fake clock), and meanwhile history is compacted
        // past its resourceVersion, so its next watch is 410 Gone.
        _api.DropWatches();
        await Wait.UntilAsync(() => informer.PendingBackoff is not null, Deadline, "the informer backs off after a failed watch");
        _api.SetNode("n1", "z9", "r1");
        _api.DeleteNode("n2");
        _api.SetNode("n3", "z3", "r3");
        _api.Compact();
        _time.Advance(informer.PendingBackoff!.Value);

        await Wait.UntilAsync(() => _api.ListRequests == 2, Deadline, "410 Gone makes the informer list again");
        await Wait.UntilAsync(() => informer.TryGet("n3", out _), Deadline, "the relist is applied");
        _api.WatchRequests[1].Status.Should().Be(asErrorEvent ? 200 : 410);
        informer.TryGet("n1", out var n1).Should().BeTrue();
        n1.Zone.Should().Be("z9");
        informer.TryGet("n2", out _).Should().BeFalse("n2 was deleted while the informer was away");
        informer.Count.Should().Be(2);
        await WaitWatchingAsync(3);
        _api.WatchRequests[2].ResourceVersion.Should().Be(_api.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Watch_KeepsFailing_BacksOffExponentiallyCappedThenRelists()
    {
        _api.SetNode("n1", "z1", "r1");
        _api.FailNextWatches(1000);
        var backoff = new InformerBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var informer = Start(backoff);
        await WaitSyncedAsync(informer);

        for (var attempt = 1; attempt <= NodeInformer.RelistAfterFailures + 1; attempt++)
        {
            await Wait.UntilAsync(() => informer.PendingBackoff is not null && _api.WatchRequests.Count == attempt, Deadline, $"failed watch {attempt} is followed by a backoff");
            var delay = informer.PendingBackoff!.Value;
            var ceiling = attempt <= NodeInformer.RelistAfterFailures ? backoff.Ceiling(attempt) : backoff.Ceiling(1);
            delay.Should().BeGreaterThanOrEqualTo(ceiling / 2).And.BeLessThanOrEqualTo(ceiling, $"attempt {attempt} waits within [½, 1] of {ceiling}");
            _api.WatchRequests.Count.Should().Be(attempt, "no retry before the backoff elapsed");
            _api.ListRequests.Should().Be(attempt <= NodeInformer.RelistAfterFailures ? 1 : 2);
            _time.Advance(delay);
        }

        backoff.Ceiling(3).Should().Be(TimeSpan.FromSeconds(2), "the backoff is capped");
        _api.WatchRequests.Should().OnlyContain(w => w.Status == 500);
    }

    [Fact]
    public void Backoff_Attempts_DoubleUpToTheCapWithJitterBetweenHalfAndWhole()
    {
        var low = new InformerBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => 0);
        var high = new InformerBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => 1);

        low.Delay(1).Should().Be(TimeSpan.FromMilliseconds(500));
        high.Delay(1).Should().Be(TimeSpan.FromSeconds(1));
        high.Delay(4).Should().Be(TimeSpan.FromSeconds(8));
        high.Delay(6).Should().Be(TimeSpan.FromSeconds(30), "2^5 s is over the cap");
        high.Delay(1000).Should().Be(TimeSpan.FromSeconds(30));
        low.Delay(1000).Should().Be(TimeSpan.FromSeconds(15));
    }

    private NodeInformer Start(InformerBackoff? backoff = null)
    {
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        var informer = new NodeInformer(_client, _time, NullLogger<NodeInformer>.Instance, backoff);
        _run = Task.Run(() => informer.RunAsync(_stop.Token));
        return informer;
    }

    private async Task WaitSyncedAsync(NodeInformer informer)
    {
        var done = await Task.WhenAny(informer.Synced, _run!, Task.Delay(Deadline));
        done.Should().BeSameAs(informer.Synced, "the first list completes");
    }

    private Task WaitWatchingAsync(int requests) =>
        Wait.UntilAsync(() => _api.WatchRequests.Count >= requests && _api.OpenWatches > 0, Deadline, $"watch request {requests} is open");
}
