using System.Net.Http.Headers;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.P2P;

/// <summary>
/// A private (htpasswd) origin and two agents sharing a real scheduler: pieces one agent holds reach another agent's
/// client only when the upstream accepts that client's own credentials, exactly as for the agent's own cache.
/// </summary>
public sealed class P2PAuthTests(AuthOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<AuthOriginFixture>
{
    private const string PeerDownloadedBytes = "peeragent_peer_downloaded_bytes_total";

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    private AuthenticationHeaderValue ValidAuth => RegistryProcess.BasicAuth(AuthOriginFixture.User, fixture.Password);

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task BlobHeldByAPeer_ReachesOnlyClientsTheUpstreamAuthorises()
    {
        var scheduler = await StartSchedulerAsync();
        var a = await StartAgentAsync(PrivateAgent(scheduler, "node-1"), "node-1 agent");
        var b = await StartAgentAsync(PrivateAgent(scheduler, "node-2"), "node-2 agent");
        using var clientA = a.CreateMirrorClient();
        using var clientB = b.CreateMirrorClient();
        var blob = Image.LargestLayer;
        var seeded = await MirrorHttp.GetBlobAsync(clientA, Image, blob, ValidAuth);
        seeded.CompletedSuccessfully.Should().BeTrue("node-1 pulls the blob with valid credentials: {0}", seeded);
        await Wait.UntilAsync(() => File.Exists(a.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), "node-1 holds the blob");
        await Origin.WaitForBlobBytesAsync(blob.Digest, blob.Size); // node-1's fetch is logged before the counts start over
        await Origin.ResetAsync();

        var anonymous = await MirrorHttp.GetBlobAsync(clientB, Image, blob);
        var wrong = await MirrorHttp.GetBlobAsync(clientB, Image, blob, RegistryProcess.BasicAuth(AuthOriginFixture.User, "wrong-" + fixture.Password));
        var afterRefusals = await b.GetMetricsAsync();

        anonymous.Status.Should().Be(401, "without credentials node-2 must not hand out what its peer holds ({0})", anonymous);
        anonymous.Body.Length.Should().BeLessThan(4096, "no blob bytes may leak in a refusal");
        wrong.Status.Should().Be(401, "wrong credentials are refused ({0})", wrong);
        wrong.Body.Length.Should().BeLessThan(4096);
        afterRefusals.Sum(PeerDownloadedBytes).Should().Be(0, "a refused request must not even fetch pieces from peers");
        File.Exists(b.CommittedBlobPath(blob.Digest)).Should().BeFalse();

        var allowed = await MirrorHttp.GetBlobAsync(clientB, Image, blob, ValidAuth);

        allowed.CompletedSuccessfully.Should().BeTrue("valid credentials get the blob: {0}", allowed);
        allowed.BodyDigest.Should().Be(blob.Digest);
        (await b.GetMetricsAsync()).Sum(PeerDownloadedBytes).Should().Be(blob.Size, "node-2 got every piece from node-1, its peer");
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(0, "the upstream was only asked whether this client may read the blob (HEAD)\n{0}", Origin.DescribeRequests());
        b.ShouldHaveNoErrors();
    }

    private AgentOptions PrivateAgent(SchedulerProcess scheduler, string node) => new()
    {
        DefaultRegistry = Origin.Endpoint,
        Registries = [new AgentRegistry(Origin.Endpoint, PlainHttp: true, Public: false)],
        SchedulerAddress = scheduler.Address,
        NodeName = node,
    };
}
