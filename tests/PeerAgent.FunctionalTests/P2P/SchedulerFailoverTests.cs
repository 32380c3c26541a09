using System.Diagnostics;
using System.Globalization;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Protocol;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.P2P;

/// <summary>
/// Three scheduler processes shard the blobs between them, and six agents pull the whole image at once; the replica
/// that owns the largest layer is killed mid-pull. The replicas find each other through EndpointSlices of a shard
/// Service, served by <see cref="FakeKubernetesApi"/> (no real API server can run here), which also plays the
/// endpoints controller: the killed replica's slice is deleted after the kill. Agents start from one replica's
/// address, as they would from the scheduler Service.
/// </summary>
public sealed class SchedulerFailoverTests(LargeImageOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<LargeImageOriginFixture>
{
    private const string Namespace = "peeragent";
    private const string ShardService = "peeragent-scheduler-shards";
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";
    private const string Failovers = "peeragent_swarm_scheduler_failover_seconds";
    private const string Replicas = "peeragent_swarm_scheduler_replicas";
    private const int Agents = 6;
    private const long PieceSize = 4L << 20;

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task PullImage_OwnerReplicaKilledMidPull_EveryPullCompletesOnTheSurvivorsAndTheOriginSendsAboutOneCopy()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        using var kubeconfig = new TempDir("kubeconfig");
        var kubeconfigPath = await api.WriteKubeconfigAsync(kubeconfig);
        var certificates = TestCertificates.Create();
        var schedulers = new List<SchedulerProcess>();
        for (var i = 0; i < 3; i++)
        {
            schedulers.Add(Own(await SchedulerProcess.StartAsync(new SchedulerProcessOptions
            {
                Tls = certificates.Issue($"scheduler-{i + 1}"),
                ExtraArgs =
                [
                    "--Kubernetes:Mode=enabled",
                    "--Kubernetes:Kubeconfig=" + kubeconfigPath,
                    "--Kubernetes:ShardService=" + ShardService,
                    "--Kubernetes:Namespace=" + Namespace,
                ],
            })));
            var scheduler = schedulers[^1];
            Diagnose($"scheduler-{i + 1} log (tail)", () => string.Join('\n', scheduler.Logs.TakeLast(60)));
        }

        // One slice per replica: they share an address (127.0.0.1) and differ by port, and a slice has one port list.
        for (var i = 0; i < schedulers.Count; i++)
        {
            api.SetEndpointSlice(Namespace, $"{ShardService}-{i + 1}", ShardService, schedulers[i].Port, [("127.0.0.1", true)]);
        }

        // Agents reach the origin through a throttle, so each layer takes seconds and the kill lands mid-pull.
        await using var slowOrigin = FaultyProxy.Start(Origin.Endpoint);
        slowOrigin.SetThrottle(6_000_000);
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = Agents,
            WithContainerd = false,
            StartScheduler = false,
            SchedulerAddress = schedulers[0].Address,
            Certificates = certificates,
            RegistryEndpoint = _ => slowOrigin.Url,
        });
        foreach (var agent in cluster.Agents)
        {
            await Wait.UntilAsync(
                async () => (await agent.GetMetricsAsync()).Sum(Replicas) == 3,
                TimeSpan.FromSeconds(30),
                $"{agent.Options.NodeName} learns the 3 replicas from its heartbeat answers");
        }

        var largest = Image.LargestLayer;
        var owner = ShardRing.Owner(largest.Digest.ToString(), [.. schedulers.Select(s => s.Address)])!;
        var victim = schedulers.Single(s => s.Address == owner);
        var victimIndex = schedulers.IndexOf(victim);
        var survivors = schedulers.Where(s => s != victim).ToList();
        Output.WriteLine($"owner of {largest.Digest} ({largest.Size} bytes): scheduler-{victimIndex + 1} at {owner}");
        await Origin.ResetAsync();

        var clients = cluster.Agents.Select(a => a.CreateMirrorClient(TimeSpan.FromMinutes(4))).ToList();
        try
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var gets = clients.SelectMany(client => Image.Blobs.Select(async blob =>
            {
                await go.Task;
                return (Blob: blob, Result: await MirrorHttp.GetBlobAsync(client, Image, blob));
            })).ToList();
            go.SetResult();

            // Mid-pull: the largest layer's streams are open on its owner and its first piece is on its way from the origin.
            await Wait.UntilAsync(
                async () => (await victim.GetMetricsAsync()).Sum("peeragent_scheduler_announce_streams") >= Agents
                    && await cluster.SumMetricAsync(UpstreamBytes, ("kind", "blob")) >= PieceSize,
                TimeSpan.FromSeconds(60),
                "the agents' Announce streams for the largest layer are open on its owner and the origin is sending");
            var fetchedBeforeKill = slowOrigin.BlobBodyBytesForwarded;
            victim.KillHard();
            var killed = Stopwatch.StartNew();
            api.DeleteEndpointSlice(Namespace, $"{ShardService}-{victimIndex + 1}");
            Output.WriteLine($"killed scheduler-{victimIndex + 1} after the origin had sent {fetchedBeforeKill} bytes");

            // Measured beside the pulls: how long until every agent lists only the survivors (its next heartbeat
            // answer after the informers saw the slice go).
            var converged = Task.Run(async () =>
            {
                foreach (var agent in cluster.Agents)
                {
                    await Wait.UntilAsync(
                        async () => (await agent.GetMetricsAsync()).Sum(Replicas) == 2,
                        TimeSpan.FromSeconds(30),
                        $"{agent.Options.NodeName} drops the killed replica once its EndpointSlice is gone");
                }

                return killed.Elapsed;
            });

            var results = await Task.WhenAll(gets);
            foreach (var (blob, result) in results)
            {
                result.CompletedSuccessfully.Should().BeTrue("every GET completes though a scheduler replica died: {0}", result);
                result.BodyDigest.Should().Be(blob.Digest, "every client gets exactly the blob's bytes");
            }

            var lastReplicasSeen = await converged;
            Output.WriteLine($"every agent listed only the 2 survivors {lastReplicasSeen.TotalSeconds:F1} s after the kill (an upper bound: the agents' metrics were polled one after another)");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        await Origin.WaitForQuietAsync();
        var imageBytes = Image.Blobs.Sum(b => b.Size);
        var originBytes = Origin.BlobBytesServed;
        double moved = 0, moveSeconds = 0;
        foreach (var agent in cluster.Agents)
        {
            var metrics = await agent.GetMetricsAsync();
            moved += metrics.Sum(Failovers + "_count");
            moveSeconds += metrics.Sum(Failovers + "_sum");
            agent.ShouldHaveNoErrors();
        }

        Output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"image {imageBytes} bytes; origin sent {originBytes} ({(double)originBytes / imageBytes:F2} x the image); {moved} Announce streams moved to a survivor, {moveSeconds / Math.Max(1, moved) * 1000:F0} ms each on average (break to the new owner's first decision)"));
        moved.Should().BeGreaterThan(0, "the downloads whose streams were on the killed replica move to a survivor instead of going to the origin");
        originBytes.Should().BeLessThanOrEqualTo(imageBytes * 3 / 2, "the survivors take over the blobs and the origin still sends about one copy:\n{0}", Origin.DescribeRequests());
        (await Task.WhenAll(survivors.Select(async s => (await s.GetMetricsAsync()).Sum("peeragent_scheduler_tasks")))).Sum()
            .Should().BeGreaterThanOrEqualTo(Image.Blobs.Count, "the survivors know every blob of the image, the moved ones included");
        foreach (var survivor in survivors)
        {
            survivor.ErrorLines.Should().BeEmpty("a surviving replica logs no errors when a sibling dies");
        }
    }
}
