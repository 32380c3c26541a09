using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.P2P;

/// <summary>
/// Zone-aware parent selection with real processes: one scheduler and six agents in three zones of two regions
/// (node-1,2 in zone-a and node-3,4 in zone-b of region-1; node-5,6 in zone-c of region-2), all reading one blob at
/// once. Each agent counts the piece bytes it stored from parents by where the parent is
/// (<c>peeragent_peer_received_bytes_total{locality}</c>); the origin's access log counts what it sent.
/// </summary>
public sealed class ZoneTests(LargeImageOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<LargeImageOriginFixture>
{
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";
    private const string ReceivedBytes = "peeragent_peer_received_bytes_total";
    private const int Zones = 3;
    private const long PieceSize = 4L << 20;

    private static readonly string[] ZoneOf = ["zone-a", "zone-a", "zone-b", "zone-b", "zone-c", "zone-c"];
    private static readonly string[] RegionOf = ["region-1", "region-1", "region-1", "region-1", "region-2", "region-2"];

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task GetBlob_SixAgentsInThreeZonesAtOnce_EachZonePullsItAcrossItsBoundaryAboutOnce()
    {
        var blob = Image.LargestLayer; // a little over 40 MiB: 11 pieces of 4 MiB
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = ZoneOf.Length,
            WithContainerd = false,
            Topology = i => (ZoneOf[i], RegionOf[i]),
        });
        await Origin.ResetAsync();
        var clients = cluster.Agents.Select(a => a.CreateMirrorClient(TimeSpan.FromMinutes(4))).ToList();
        try
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var gets = clients.Select(async client =>
            {
                await go.Task;
                return await MirrorHttp.GetBlobAsync(client, Image, blob);
            }).ToList();
            go.SetResult();
            var results = await Task.WhenAll(gets);

            for (var i = 0; i < results.Length; i++)
            {
                results[i].CompletedSuccessfully.Should().BeTrue("node-{0}'s GET completes: {1}", i + 1, results[i]);
                results[i].BodyDigest.Should().Be(blob.Digest, "node-{0}'s client gets exactly the blob's bytes", i + 1);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        await Origin.WaitForQuietAsync();
        var originBytes = Origin.BlobBytesServed;
        double inZone = 0, inRegion = 0, remote = 0;
        foreach (var node in cluster.Nodes)
        {
            var agent = node.Agent;
            await Wait.UntilAsync(() => File.Exists(agent.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), $"{node.Name} commits the blob");
            var metrics = await agent.GetMetricsAsync();
            var zone = metrics.Sum(ReceivedBytes, ("locality", "zone"));
            var region = metrics.Sum(ReceivedBytes, ("locality", "region"));
            var far = metrics.Sum(ReceivedBytes, ("locality", "remote"));
            var unknown = metrics.Sum(ReceivedBytes, ("locality", "unknown"));
            var fromOrigin = metrics.Sum(UpstreamBytes, ("kind", "blob"));
            Output.WriteLine($"{node.Name} ({ZoneOf[node.Index]}/{RegionOf[node.Index]}): origin {fromOrigin}, same zone {zone}, same region {region}, other region {far}");
            unknown.Should().Be(0, "every agent is labelled and the scheduler sends each parent's zone and region");
            (fromOrigin + zone + region + far).Should().Be(blob.Size, "{0} stored each piece once, from the origin or from one parent", node.Name);
            (inZone, inRegion, remote) = (inZone + zone, inRegion + region, remote + far);
            agent.ShouldHaveNoErrors();
        }

        var crossZone = inRegion + remote;
        (inZone + crossZone).Should().BeGreaterThan(0, "the agents that did not read the origin got pieces from their peers");
        Output.WriteLine(
            $"blob {blob.Size} bytes; origin sent {originBytes}; piece bytes: same zone {inZone}, cross-zone {crossZone} ({inRegion} within a region, {remote} across regions) = {crossZone / blob.Size:F2} blobs");
        originBytes.Should().BeLessThanOrEqualTo(blob.Size * 3 / 2, "six agents reading at once cost the origin about one copy:\n{0}", Origin.DescribeRequests());
        crossZone.Should().BeLessThanOrEqualTo(
            ((Zones - 1) * blob.Size) + (Zones * PieceSize),
            "each zone pulls the blob across its boundary about once: the zone with the origin's copy not at all, the two others once each");
        cluster.Scheduler!.ErrorLines.Should().BeEmpty("the scheduler must not log errors in a healthy pull");
    }
}
