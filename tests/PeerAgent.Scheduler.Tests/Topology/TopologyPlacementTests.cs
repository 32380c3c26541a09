using PeerAgent.Scheduling.Topology;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduler.Tests.Service;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Scheduler.Tests.Topology;

/// <summary>
/// The scheduler service places hosts by their Node's labels when the informer runs, not by what agents report. The
/// Nodes come from <see cref="FakeKubernetesApi"/>, a fake API server on 127.0.0.1, because no real one can run here.
/// </summary>
public sealed class TopologyPlacementTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Heartbeat_WithInformer_TakesZoneAndRegionFromTheNodeNotTheAgent()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.SetNode("n1", "zone-a", "region-1");
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = api.Url });
        var informer = new NodeInformer(client, new FakeTimeProvider(), NullLogger<NodeInformer>.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await using var host = await SchedulerTestHost.StartAsync(services: s => s.AddSingleton<INodeTopology>(informer));
        (await Task.WhenAny(informer.Synced, Task.Delay(Deadline))).Should().BeSameAs(informer.Synced);

        await HeartbeatAsync(host, "h1", node: "n1", zone: "wrong", region: "wrong");

        host.Registrations.Should().ContainSingle(r => r.HostId == "h1").Which.Should().Be(("h1", "zone-a", "region-1"), "the Node's labels win over the agent's");

        // A label change reaches the host with its next heartbeat; an unchanged one does not register it again.
        await HeartbeatAsync(host, "h1", node: "n1", zone: "wrong", region: "wrong");
        host.Registrations.Count(r => r.HostId == "h1").Should().Be(1, "an unchanged placement is not registered again");
        await WaitWatchingAsync(api);
        api.SetNode("n1", "zone-b", "region-1");
        await Wait.UntilAsync(() => informer.TryGet("n1", out var p) && p.Zone == "zone-b", Deadline, "the informer saw the change");
        await HeartbeatAsync(host, "h1", node: "n1", zone: "wrong", region: "wrong");
        host.Registrations.Last(r => r.HostId == "h1").Should().Be(("h1", "zone-b", "region-1"));

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Heartbeat_NodeNotKnownYet_NoZoneUntilTheNodeAppears()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = api.Url });
        var informer = new NodeInformer(client, new FakeTimeProvider(), NullLogger<NodeInformer>.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await using var host = await SchedulerTestHost.StartAsync(services: s => s.AddSingleton<INodeTopology>(informer));
        (await Task.WhenAny(informer.Synced, Task.Delay(Deadline))).Should().BeSameAs(informer.Synced);

        await HeartbeatAsync(host, "h1", node: "n7", zone: "agent-zone", region: "agent-region");
        host.Registrations.Single(r => r.HostId == "h1").Should().Be(("h1", "", ""), "an unknown Node gives no placement, not the agent's");

        await WaitWatchingAsync(api);
        api.SetNode("n7", "zone-c", "region-2");
        await Wait.UntilAsync(() => informer.TryGet("n7", out _), Deadline, "the informer saw the new Node");
        await HeartbeatAsync(host, "h1", node: "n7", zone: "agent-zone", region: "agent-region");

        host.Registrations.Last(r => r.HostId == "h1").Should().Be(("h1", "zone-c", "region-2"));
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Heartbeat_WithoutKubernetes_UsesTheAgentsLabels()
    {
        await using var host = await SchedulerTestHost.StartAsync();

        await HeartbeatAsync(host, "h1", node: "n1", zone: "agent-zone", region: "agent-region");

        host.Registrations.Single(r => r.HostId == "h1").Should().Be(("h1", "agent-zone", "agent-region"));
    }

    private static async Task HeartbeatAsync(SchedulerTestHost host, string id, string node, string zone, string region)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var info = new HostInfo { HostId = id, NodeName = node, Zone = zone, Region = region, PeerAddress = $"http://{id}.test:65002", UploadCapacity = 4 };
        await host.Client.HeartbeatAsync(new HeartbeatRequest { Host = info }, cancellationToken: deadline.Token);
    }

    private static Task WaitWatchingAsync(FakeKubernetesApi api) =>
        Wait.UntilAsync(() => api.OpenWatches > 0, Deadline, "the informer watches");
}
