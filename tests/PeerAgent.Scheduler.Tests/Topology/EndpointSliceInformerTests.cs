using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Scheduler.Tests.Topology;

/// <summary>
/// The EndpointSlice informer (the scheduler replicas) against <see cref="FakeKubernetesApi"/>, a fake API server
/// in-process on 127.0.0.1, because no real one can run here. Backoff runs on a fake clock.
/// </summary>
public sealed class EndpointSliceInformerTests : IAsyncLifetime
{
    private const string Ns = "peeragent";
    private const string Service = "peeragent-scheduler-shards";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _stop = new();
    private readonly RecordingLogger _logs = new();
    private FakeKubernetesApi _api = null!;
    private Kubernetes? _client;
    private Task? _run;

    public async Task InitializeAsync() => _api = await FakeKubernetesApi.StartAsync();

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            (await Task.WhenAny(_run, Task.Delay(Deadline))).Should().BeSameAs(_run, "the informer stops when cancelled");
            await _run;
        }

        _client?.Dispose();
        await _api.DisposeAsync();
        _stop.Dispose();
    }

    [Fact]
    public async Task List_ReadyAndNotReadyEndpoints_GivesTheReadyUrlsSortedOnceSynced()
    {
        _api.SetEndpointSlice(Ns, "shards-b", Service, 65004, [("10.0.0.9", true), ("10.0.0.10", false), ("10.0.0.2", true)]);
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.5", true), ("10.0.0.2", true)]);
        var informer = Create();
        informer.Replicas.Should().BeEmpty("nothing is known before the first list");

        await StartAndSyncAsync(informer);

        informer.Replicas.Should().Equal(
            ["https://10.0.0.2:65004", "https://10.0.0.5:65004", "https://10.0.0.9:65004"],
            "ready endpoints of every slice, ordinal-sorted, an address in two slices once, the not-ready one left out");
        _api.ListRequestsFor(FakeKubernetesApi.EndpointSlices).Should().Be(1);
        _logs.Count(3209).Should().Be(1, "the first replica set is logged");
    }

    [Fact]
    public async Task Watch_SliceModifiedThenDeleted_UpdatesTheReplicas()
    {
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true), ("10.0.0.2", true)]);
        _api.SetEndpointSlice(Ns, "shards-b", Service, 65004, [("10.0.0.3", true)]);
        var informer = Create();
        await StartAndSyncAsync(informer);
        await WaitWatchingAsync(1);

        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true), ("10.0.0.2", false)]);
        await Wait.UntilAsync(() => informer.Replicas.Count == 2, Deadline, "a replica that is no longer ready leaves the set");
        informer.Replicas.Should().Equal("https://10.0.0.1:65004", "https://10.0.0.3:65004");

        _api.DeleteEndpointSlice(Ns, "shards-b");
        await Wait.UntilAsync(() => informer.Replicas.Count == 1, Deadline, "a deleted slice's replicas leave the set");
        informer.Replicas.Should().Equal("https://10.0.0.1:65004");
        _logs.Count(3209).Should().Be(3, "every change of the set is logged");
        _api.ListRequestsFor(FakeKubernetesApi.EndpointSlices).Should().Be(1, "changes come through the watch");
    }

    [Fact]
    public async Task Watch_OtherServiceAndOtherNamespace_AreIgnored()
    {
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true)]);
        _api.SetEndpointSlice(Ns, "web-a", "web", 65004, [("10.0.9.1", true)]);
        _api.SetEndpointSlice("elsewhere", "shards-x", Service, 65004, [("10.0.8.1", true)]);
        var informer = Create();
        await StartAndSyncAsync(informer);
        informer.Replicas.Should().Equal("https://10.0.0.1:65004");
        await WaitWatchingAsync(1);

        _api.SetEndpointSlice(Ns, "web-a", "web", 65004, [("10.0.9.2", true)]);
        _api.SetEndpointSlice("elsewhere", "shards-x", Service, 65004, [("10.0.8.2", true)]);
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true), ("10.0.0.4", true)]);

        // The matching change comes last, so once it is in, the two before it were seen and skipped (or never sent).
        await Wait.UntilAsync(() => informer.Replicas.Count == 2, Deadline, "the matching slice's change arrived");
        informer.Replicas.Should().Equal("https://10.0.0.1:65004", "https://10.0.0.4:65004");
        var watch = _api.WatchRequests.Should().ContainSingle().Subject;
        watch.Resource.Should().Be(FakeKubernetesApi.EndpointSlices);
        watch.AllowBookmarks.Should().BeTrue();
    }

    [Fact]
    public async Task Watch_DroppedAfterAnEvent_ResumesFromTheLastVersionWithoutRelisting()
    {
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true)]);
        var informer = Create();
        await StartAndSyncAsync(informer);
        await WaitWatchingAsync(1);
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true), ("10.0.0.2", true)]);
        await Wait.UntilAsync(() => informer.Replicas.Count == 2, Deadline, "the change arrived");
        var last = informer.ResourceVersion;

        _api.DropWatches();
        await WaitWatchingAsync(2);
        _api.SetEndpointSlice(Ns, "shards-b", Service, 65004, [("10.0.0.3", true)]);

        await Wait.UntilAsync(() => informer.Replicas.Count == 3, Deadline, "the resumed watch delivers changes");
        last.Should().Be((_api.ResourceVersion - 1).ToString(CultureInfo.InvariantCulture));
        _api.WatchRequests[1].ResourceVersion.Should().Be(last, "a dropped watch resumes from the last resourceVersion it saw");
        _api.ListRequestsFor(FakeKubernetesApi.EndpointSlices).Should().Be(1, "a dropped connection is resumed, not relisted");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Watch_ResourceVersionGone_RelistsAndTheViewIsCorrect(bool asErrorEvent)
    {
        _api.GoneAsErrorEvent = asErrorEvent;
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true)]);
        _api.SetEndpointSlice(Ns, "shards-b", Service, 65004, [("10.0.0.2", true)]);
        var informer = Create();
        await StartAndSyncAsync(informer);
        await WaitWatchingAsync(1);

        // Drop the watch before any event: the informer backs off (fake clock), and meanwhile history is compacted
        // past its resourceVersion, so its next watch is 410 Gone and only a relist can give the right view.
        _api.DropWatches();
        await Wait.UntilAsync(() => informer.PendingBackoff is not null, Deadline, "the informer backs off after a failed watch");
        _api.DeleteEndpointSlice(Ns, "shards-b");
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", false), ("10.0.0.7", true)]);
        _api.SetEndpointSlice(Ns, "shards-c", Service, 65004, [("10.0.0.3", true)]);
        _api.Compact();
        _time.Advance(informer.PendingBackoff!.Value);

        await Wait.UntilAsync(() => _api.ListRequestsFor(FakeKubernetesApi.EndpointSlices) == 2, Deadline, "410 Gone makes the informer list again");
        string[] expected = ["https://10.0.0.3:65004", "https://10.0.0.7:65004"];
        await Wait.UntilAsync(() => informer.Replicas.SequenceEqual(expected), Deadline, "the relist is applied: a deleted slice, a replica no longer ready, a new slice");
        _api.WatchRequests[1].Status.Should().Be(asErrorEvent ? 200 : 410);
    }

    [Fact]
    public async Task List_HttpListenUrl_UsesHttpAndIPv6InBrackets()
    {
        _api.SetEndpointSlice(Ns, "shards-v6", Service, 7000, [("fd00::2", true), ("FD00::1", true)]);
        var informer = Create(EndpointSliceInformer.SchemeOf("http://0.0.0.0:65004"));

        await StartAndSyncAsync(informer);

        informer.Replicas.Should().Equal("http://[fd00::1]:7000", "http://[fd00::2]:7000");
    }

    [Fact]
    public async Task List_SliceWithoutGrpcPort_IsLeftOutAndLoggedOnce()
    {
        _api.SetEndpointSlice(Ns, "shards-a", Service, 65004, [("10.0.0.1", true)]);
        _api.SetEndpointSlice(Ns, "shards-b", Service, "http", 8080, [("10.0.0.2", true)]);
        var informer = Create();
        await StartAndSyncAsync(informer);
        await WaitWatchingAsync(1);

        _api.SetEndpointSlice(Ns, "shards-b", Service, "http", 8080, [("10.0.0.2", true), ("10.0.0.3", true)]);
        _api.SetEndpointSlice(Ns, "shards-c", Service, 65004, [("10.0.0.4", true)]);
        await Wait.UntilAsync(() => informer.Replicas.Count == 2, Deadline, "the last change arrived");

        informer.Replicas.Should().Equal("https://10.0.0.1:65004", "https://10.0.0.4:65004");
        _logs.Count(3211).Should().Be(1, "a slice without a grpc port is logged once, not on every change");
    }

    [Theory]
    [InlineData("https://0.0.0.0:65004", "https")]
    [InlineData("HTTP://127.0.0.1:0", "http")]
    [InlineData("http://[::]:65004", "http")]
    public void SchemeOf_ListenUrl_IsItsScheme(string listenUrl, string expected) =>
        EndpointSliceInformer.SchemeOf(listenUrl).Should().Be(expected);

    [Fact]
    public void ReplicasOf_ReadyAbsentOrTrue_AreIncludedFalseIsNot()
    {
        var slice = new V1EndpointSlice
        {
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "metrics", Port = 65005 }, new Discoveryv1EndpointPort { Name = "grpc", Port = 65004 }],
            Endpoints =
            [
                new V1Endpoint { Addresses = ["10.0.0.1"] },
                new V1Endpoint { Addresses = ["10.0.0.2"], Conditions = new V1EndpointConditions() },
                new V1Endpoint { Addresses = ["10.0.0.3"], Conditions = new V1EndpointConditions { Ready = true } },
                new V1Endpoint { Addresses = ["10.0.0.4"], Conditions = new V1EndpointConditions { Ready = false } },
            ],
        };

        EndpointSliceInformer.ReplicasOf(slice, "https").Should().Equal(
            ["https://10.0.0.1:65004", "https://10.0.0.2:65004", "https://10.0.0.3:65004"], "ready absent means ready, as in the Kubernetes API");
    }

    [Fact]
    public void ReplicasOf_NoGrpcPort_IsNull()
    {
        var slice = new V1EndpointSlice
        {
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 80 }],
            Endpoints = [new V1Endpoint { Addresses = ["10.0.0.1"] }],
        };

        EndpointSliceInformer.ReplicasOf(slice, "https").Should().BeNull();
    }

    private EndpointSliceInformer Create(string scheme = "https")
    {
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        return new EndpointSliceInformer(_client, Ns, Service, scheme, _time, _logs);
    }

    private async Task StartAndSyncAsync(EndpointSliceInformer informer)
    {
        _run = Task.Run(() => informer.RunAsync(_stop.Token));
        var done = await Task.WhenAny(informer.Synced, _run, Task.Delay(Deadline));
        done.Should().BeSameAs(informer.Synced, "the first list completes");
    }

    private Task WaitWatchingAsync(int requests) =>
        Wait.UntilAsync(() => _api.WatchRequests.Count >= requests && _api.OpenWatches > 0, Deadline, $"watch request {requests} is open");

    /// <summary>Counts log events by id.</summary>
    private sealed class RecordingLogger : ILogger<EndpointSliceInformer>
    {
        private readonly ConcurrentQueue<EventId> _events = new();

        public int Count(int eventId) => _events.Count(e => e.Id == eventId);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _events.Enqueue(eventId);
    }
}
