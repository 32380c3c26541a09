using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.P2P;

/// <summary>
/// Several real agents on loopback, coordinated by the real scheduler process, each the mirror of its own real
/// containerd, all in front of one docker-registry origin whose access log measures origin egress. Every test starts
/// its own scheduler and agents with empty stores, so tests share only the origin and its image.
/// </summary>
/// <remarks>
/// containerd falls back to the origin silently when a mirror fails, so a successful pull proves nothing alone:
/// each test also checks the agents' metrics and that no blob GET at the origin came from containerd.
/// Timeouts are generous (a noisy 2-core VM runs up to 4 agents and 4 containerds); no test asserts a duration.
/// Like every functional test these run one at a time (AssemblyInfo.cs disables test parallelization).
/// </remarks>
public sealed class P2PPullTests(LargeImageOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<LargeImageOriginFixture>
{
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";
    private const string ServedBytes = "peeragent_mirror_served_bytes_total";
    private const string PeerDownloadedBytes = "peeragent_peer_downloaded_bytes_total";
    private const string PeerUploadedBytes = "peeragent_peer_uploaded_bytes_total";
    private const string PeerDigestMismatches = "peeragent_peer_piece_digest_mismatches_total";

    /// <summary>Set on the scheduler where a test bounds retries against a bad parent.</summary>
    private const int ParentFailureLimit = 3;

    private const long PieceSize = 4L << 20;

    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(3);

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task FourAgentsPullingAtOnce_CostTheOriginAboutOneCopy()
    {
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions { Nodes = 4 });
        await Origin.ResetAsync();

        var pulls = await cluster.PullAllAtOnceAsync(Image.Reference, PullTimeout);

        foreach (var pull in pulls)
        {
            Output.WriteLine($"{pull.Node.Name}: ctr pull exited {pull.Result.ExitCode} after {pull.Elapsed.TotalSeconds:F1} s");
            pull.Result.ExitCode.Should().Be(0, "every node's pull must succeed: {0}", pull);
        }

        foreach (var node in cluster.Nodes)
        {
            await ShouldHoldVerifiedImageAsync(node);
        }

        await Origin.WaitForQuietAsync();
        var originBytes = Origin.BlobBytesServed;
        Output.WriteLine($"image blob bytes {Image.TotalBlobBytes}, origin sent {originBytes} blob bytes to 4 nodes");
        originBytes.Should().BeGreaterThanOrEqualTo(
            Image.TotalBlobBytes, "no node held the image before, so the origin sent every blob at least once (else its access log is not being counted)");
        originBytes.Should().BeLessThanOrEqualTo(
            Image.TotalBlobBytes * 3 / 2, "4 nodes pulling at once cost the origin about one copy of the image, not 4:\n{0}", Origin.DescribeRequests());
        ShouldNotHaveFallenBackToOrigin();

        var peerDownloaded = await cluster.SumMetricAsync(PeerDownloadedBytes);
        var peerUploaded = await cluster.SumMetricAsync(PeerUploadedBytes);
        var upstream = await cluster.SumMetricAsync(UpstreamBytes, ("kind", "blob"));
        Output.WriteLine($"agents: {upstream} blob bytes from the origin, {peerDownloaded} piece bytes from peers, {peerUploaded} to peers");
        peerDownloaded.Should().BeGreaterThan(0, "the agents that did not fetch a blob from the origin got its pieces from their peers");
        peerUploaded.Should().BeGreaterThan(0, "some agent served pieces to its peers");
        upstream.Should().BeLessThanOrEqualTo(
            Image.TotalBlobBytes * 3 / 2, "the agents together fetched about one copy from the origin (the scheduler lets one agent per blob go there)");
        foreach (var node in cluster.Nodes)
        {
            var metrics = await node.Agent.GetMetricsAsync();
            metrics.Sum(ServedBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(
                Image.TotalBlobBytes, "{0}'s containerd got every blob byte through its agent\n{1}", node.Name, metrics.Describe("peeragent_"));
            node.Agent.ShouldHaveNoErrors();
        }

        cluster.Scheduler!.ErrorLines.Should().BeEmpty("the scheduler must not log errors in a healthy pull");
    }

    [Fact]
    public async Task ParentKilledMidTransfer_ChildStillCompletes()
    {
        var blob = Image.LargestLayer;
        // Agent A reaches the origin through a throttle, so its back-to-source download of 11 pieces takes about
        // 30 s: long enough for B to attach to A as a child and for A to be killed with pieces still missing.
        await using var slowOrigin = FaultyProxy.Start(Origin.Endpoint);
        slowOrigin.SetThrottle(1_500_000);
        Diagnose("throttling proxy in front of node-1's origin", () => string.Join('\n', slowOrigin.Requests));
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = 2,
            WithContainerd = false,
            Scheduler = new SchedulerProcessOptions { HostExpiry = TimeSpan.FromSeconds(5) },
            RegistryEndpoint = i => i == 0 ? slowOrigin.Url : null,
        });
        var (a, b) = (cluster[0].Agent, cluster[1].Agent);
        await Origin.ResetAsync();
        using var clientA = a.CreateMirrorClient(TimeSpan.FromMinutes(4));
        using var clientB = b.CreateMirrorClient(TimeSpan.FromMinutes(4));

        var getA = MirrorHttp.GetBlobAsync(clientA, Image, blob);
        await Wait.UntilAsync(
            async () => (await a.GetMetricsAsync()).Sum(UpstreamBytes, ("kind", "blob")) >= 2 * PieceSize,
            TimeSpan.FromSeconds(90),
            "node-1 (A) has fetched two pieces' worth of the blob from the slow origin");
        var getB = MirrorHttp.GetBlobAsync(clientB, Image, blob);
        await Wait.UntilAsync(
            async () => (await b.GetMetricsAsync()).Sum(PeerDownloadedBytes) > 0,
            TimeSpan.FromSeconds(60),
            "node-2 (B) receives piece bytes from A, its parent");
        var aFetchedBeforeKill = slowOrigin.BlobBodyBytesForwarded;
        a.KillHard();
        Output.WriteLine($"killed A after it had fetched {aFetchedBeforeKill} of {blob.Size} bytes from the origin");
        aFetchedBeforeKill.Should().BeLessThan(blob.Size, "A must die mid-transfer, with pieces B still needs");

        var resultB = await getB;

        resultB.CompletedSuccessfully.Should().BeTrue("B finishes the blob without its parent (other parents or the origin): {0}", resultB);
        resultB.Body.LongLength.Should().Be(blob.Size);
        resultB.BodyDigest.Should().Be(blob.Digest, "B's client gets exactly the blob's bytes");
        var metricsB = await b.GetMetricsAsync();
        Output.WriteLine($"B: {metricsB.Sum(PeerDownloadedBytes)} piece bytes from A, {metricsB.Sum(UpstreamBytes, ("kind", "blob"))} blob bytes from the origin");
        await Wait.UntilAsync(() => File.Exists(b.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), "B commits the blob");
        await ShouldHoldOnlyVerifiedBlobsAsync(b);
        var resultA = await getA;
        Output.WriteLine($"A's client (A killed): {resultA}");
        resultA.CompletedSuccessfully.Should().BeFalse("A was killed before it had the whole blob");
        // Errors about the dead parent are expected; anything else is not.
        b.ShouldHaveNoErrors(a.PeerUrl, $"127.0.0.1:{a.PeerPort}");
    }

    [Fact]
    public async Task StripedBackToSource_EachAgentReadsItsShareFromTheOriginAndTheRestFromThePeer()
    {
        var blob = Image.LargestLayer; // 11 pieces: stripes of 5 and 6
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = 2,
            WithContainerd = false,
            Scheduler = new SchedulerProcessOptions { ExtraArgs = ["--Scheduler:StripeBackToSource=true", "--Scheduler:BackToSourceQuota=2"] },
        });
        var (a, b) = (cluster[0].Agent, cluster[1].Agent);
        await Origin.ResetAsync();
        using var clientA = a.CreateMirrorClient(TimeSpan.FromMinutes(3));
        using var clientB = b.CreateMirrorClient(TimeSpan.FromMinutes(3));

        var results = await Task.WhenAll(MirrorHttp.GetBlobAsync(clientA, Image, blob), MirrorHttp.GetBlobAsync(clientB, Image, blob));

        foreach (var result in results)
        {
            result.CompletedSuccessfully.Should().BeTrue("both GETs complete: {0}", result);
            result.BodyDigest.Should().Be(blob.Digest);
        }

        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(blob.Size, "the two stripes are disjoint and together one copy:\n{0}", Origin.DescribeRequests());
        foreach (var agent in new[] { a, b })
        {
            var metrics = await agent.GetMetricsAsync();
            var fromOrigin = metrics.Sum(UpstreamBytes, ("kind", "blob"));
            var fromPeer = metrics.Sum(PeerDownloadedBytes);
            Output.WriteLine($"{agent.PeerUrl}: {fromOrigin} bytes from the origin, {fromPeer} from its peer");
            fromOrigin.Should().BeInRange(4 * PieceSize, blob.Size - (4 * PieceSize), "each agent reads only its stripe (5 or 6 of 11 pieces) from the origin");
            (fromOrigin + fromPeer).Should().Be(blob.Size, "the rest of the blob comes from the other agent");
            await ShouldHoldOnlyVerifiedBlobsAsync(agent);
            agent.ShouldHaveNoErrors();
        }
    }

    [Fact]
    public async Task SchedulerRestarted_AgentsAnnounceTheirBlobsAgain_SoTheNextNodeStillGetsThemFromPeers()
    {
        var blob = Image.LargestLayer;
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions { Nodes = 2, WithContainerd = false });
        var (a, b) = (cluster[0].Agent, cluster[1].Agent);
        using var clientA = a.CreateMirrorClient(TimeSpan.FromMinutes(3));
        var seeded = await MirrorHttp.GetBlobAsync(clientA, Image, blob);
        seeded.CompletedSuccessfully.Should().BeTrue("node-1 fetches the blob: {0}", seeded);
        await Wait.UntilAsync(() => File.Exists(a.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), "node-1 holds the blob");

        await cluster.Scheduler!.RestartAsync();
        await Wait.UntilAsync(
            () => a.Logs.Any(line => line.Contains("announced 1 stored blobs", StringComparison.OrdinalIgnoreCase)),
            TimeSpan.FromSeconds(30),
            "node-1 notices the new scheduler at its next heartbeat and announces what it holds");
        await Wait.UntilAsync(
            () => b.Logs.Count(line => line.Contains("answers (scheduler id", StringComparison.Ordinal)) >= 2,
            TimeSpan.FromSeconds(30),
            "node-2 has heartbeated to the new scheduler (a heartbeat that failed during the restart would otherwise send its next download to the origin)");
        await Origin.ResetAsync();
        using var clientB = b.CreateMirrorClient(TimeSpan.FromMinutes(3));
        var result = await MirrorHttp.GetBlobAsync(clientB, Image, blob);

        result.CompletedSuccessfully.Should().BeTrue("node-2 gets the blob: {0}", result);
        result.BodyDigest.Should().Be(blob.Digest);
        (await b.GetMetricsAsync()).Sum(PeerDownloadedBytes).Should().Be(blob.Size, "the restarted scheduler learned node-1 is a seed and sent node-2 there");
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(0, "the origin was only asked whether node-2's client may read the blob\n{0}", Origin.DescribeRequests());
    }

    [Fact]
    public async Task SchedulerUnreachable_PullsStillCompleteFromOrigin()
    {
        var nothingListens = $"https://127.0.0.1:{FreePort.Get()}";
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = 2,
            StartScheduler = false,
            SchedulerAddress = nothingListens,
        });
        await Origin.ResetAsync();

        var pulls = await cluster.PullAllAtOnceAsync(Image.Reference, PullTimeout);

        foreach (var pull in pulls)
        {
            Output.WriteLine($"{pull.Node.Name}: ctr pull exited {pull.Result.ExitCode} after {pull.Elapsed.TotalSeconds:F1} s");
            pull.Result.ExitCode.Should().Be(0, "a pull must not fail because the scheduler is down: {0}", pull);
        }

        foreach (var node in cluster.Nodes)
        {
            await ShouldHoldVerifiedImageAsync(node);
        }

        await Origin.WaitForQuietAsync();
        ShouldNotHaveFallenBackToOrigin();
        foreach (var node in cluster.Nodes)
        {
            var metrics = await node.Agent.GetMetricsAsync();
            metrics.Sum(UpstreamBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(
                Image.TotalBlobBytes, "without a scheduler {0}'s agent fetches the image from the origin itself\n{1}", node.Name, metrics.Describe("peeragent_"));
            metrics.Sum(ServedBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(
                Image.TotalBlobBytes, "{0}'s containerd got every blob byte through its agent\n{1}", node.Name, metrics.Describe("peeragent_"));
            node.Agent.ShouldHaveNoErrors("scheduler");
        }
    }

    [Fact]
    public async Task PeerServingWrongBytes_IsDetectedAvoidedAndNeverCommitted()
    {
        var cluster = await StartClusterAsync(Origin, new AgentClusterOptions
        {
            Nodes = 2,
            Scheduler = new SchedulerProcessOptions { ExtraArgs = [$"--Scheduler:ParentFailureLimit={ParentFailureLimit}"] },
        });
        var (a, b) = (cluster[0], cluster[1]);
        await Origin.ResetAsync();

        var pullA = await a.PullAsync(Image.Reference, PullTimeout);
        pullA.Result.ExitCode.Should().Be(0, "A pulls the image first and becomes a seed: {0}", pullA);
        await ShouldHoldVerifiedImageAsync(a);

        // Rot one byte of A's committed copy, in the middle piece of the largest layer. A still announces the
        // piece digests it recorded while downloading, so it serves bytes that do not match them.
        var blob = Image.LargestLayer;
        var rotten = a.Agent.CommittedBlobPath(blob.Digest);
        FlipByte(rotten, blob.Size / 2);
        (await TestImageBuilder.Sha256DigestOfFileAsync(rotten)).Should().NotBe(blob.Digest, "the flip must change A's copy");
        var before = await b.Agent.GetMetricsAsync();
        before.Sum(PeerDigestMismatches).Should().Be(0);

        var pullB = await b.PullAsync(Image.Reference, PullTimeout);

        pullB.Result.ExitCode.Should().Be(0, "B's pull succeeds despite its parent serving a bad piece: {0}", pullB);
        var metricsB = await b.Agent.GetMetricsAsync();
        var mismatches = metricsB.Sum(PeerDigestMismatches);
        Output.WriteLine($"B: {mismatches} piece digest mismatches, {metricsB.Sum(PeerDownloadedBytes)} piece bytes from peers, {metricsB.Sum(UpstreamBytes, ("kind", "blob"))} blob bytes from the origin");
        metricsB.Sum(PeerDownloadedBytes).Should().BeGreaterThan(0, "B took pieces from A, its only possible parent");
        mismatches.Should().BeGreaterThan(0, "B must verify each piece from a peer and detect the bad one\n{0}", metricsB.Describe("peeragent_peer"));
        mismatches.Should().BeLessThanOrEqualTo(
            2 * ParentFailureLimit, "after the bad piece B stops asking A for it (the scheduler drops a parent after {0} failures) instead of retrying it again and again", ParentFailureLimit);
        metricsB.Sum(UpstreamBytes, ("kind", "blob")).Should().BeGreaterThan(0, "the piece A could not give B correctly had to come from the origin");
        metricsB.Sum("peeragent_swarm_origin_fallbacks_total", ("reason", "stall")).Should().Be(
            0, "the scheduler took the rotten seed out of the task and gave B its back-to-source slot; B did not have to wait for a stall\n{0}", metricsB.Describe("peeragent_swarm"));
        var aAddress = $"127.0.0.1:{a.Agent.PeerPort}";
        b.Agent.Logs.Should().Contain(
            line => line.Contains(aAddress, StringComparison.Ordinal) || line.Contains("mismatch", StringComparison.OrdinalIgnoreCase),
            "B's log must say which peer ({0}) served bytes that did not verify", aAddress);

        await ShouldHoldVerifiedImageAsync(b);
        using var clientB = b.Agent.CreateMirrorClient();
        foreach (var item in Image.Blobs)
        {
            var served = await MirrorHttp.GetBlobAsync(clientB, Image, item);
            served.CompletedSuccessfully.Should().BeTrue("B serves {0} from its store: {1}", item.Digest, served);
            served.BodyDigest.Should().Be(item.Digest, "every blob B serves matches its digest");
        }

        ShouldNotHaveFallenBackToOrigin();
        b.Agent.ShouldHaveNoCriticalErrors();
    }

    /// <summary>
    /// The node's containerd holds every blob of the image with the right digest (containerd checks before it
    /// commits; hashing again guards against a wrong file), and the agent committed every blob, each verified.
    /// </summary>
    private async Task ShouldHoldVerifiedImageAsync(ClusterNode node)
    {
        foreach (var blob in Image.Blobs)
        {
            var path = node.Containerd.ContentBlobPath(blob.Digest);
            File.Exists(path).Should().BeTrue("{0}'s containerd must hold {1} after the pull", node.Name, blob.Digest);
            (await TestImageBuilder.Sha256DigestOfFileAsync(path)).Should().Be(blob.Digest, "{0}'s containerd content must verify", node.Name);
        }

        await Wait.UntilAsync(
            () => Image.Blobs.All(blob => File.Exists(node.Agent.CommittedBlobPath(blob.Digest))),
            TimeSpan.FromSeconds(30),
            $"{node.Name}'s agent has committed every blob of the image");
        await ShouldHoldOnlyVerifiedBlobsAsync(node.Agent);
    }

    /// <summary>Every file in the agent's store hashes to its name: nothing unverified was ever committed.</summary>
    private static async Task ShouldHoldOnlyVerifiedBlobsAsync(AgentProcess agent)
    {
        var blobs = agent.CommittedBlobs();
        blobs.Should().NotBeEmpty();
        foreach (var (digest, path) in blobs)
        {
            (await TestImageBuilder.Sha256DigestOfFileAsync(path)).Should().Be(digest, "the store at {0} must hold only blobs whose bytes match their name", agent.DataDir);
        }
    }

    /// <summary>containerd tried the origin itself: its mirror failed it, and the agents' figures do not tell the whole story.</summary>
    private void ShouldNotHaveFallenBackToOrigin() =>
        Origin.Requests.Where(r => r.IsBlob && r.UserAgent.StartsWith("containerd", StringComparison.Ordinal))
            .Should().BeEmpty("every blob must come through the node's agent, never from a containerd falling back to the origin");

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x01));
        file.Flush(flushToDisk: true);
    }
}
