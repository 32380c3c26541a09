using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Store;

/// <summary>
/// The upstream sends a blob with one flipped byte (length intact). The agent must never hand a client a complete
/// 2xx body that does not match the digest, and must never commit it.
/// </summary>
public sealed class CorruptionTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(fixture.Origin);
        await fixture.Origin.ResetAsync();
    }

    [Theory]
    [InlineData(0)] // 1 MiB: a single piece
    [InlineData(2)] // 12 MiB: the flip lands in a middle piece
    public async Task GetBlob_UpstreamFlipsByte_NeverCompletesAndNothingCommitted(int layerIndex)
    {
        var image = fixture.Image;
        var blob = image.Layers[layerIndex];
        await using var proxy = FaultyProxy.Start(fixture.Origin.Endpoint, FaultMode.FlipByteInBlobBodies);
        Diagnose("proxy requests", () => string.Join('\n', proxy.Requests));
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(fixture.Origin, endpoint: proxy.Url));
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));

        var corrupted = await MirrorHttp.GetBlobAsync(client, image, blob);

        corrupted.CompletedSuccessfully.Should().BeFalse(
            "a body that fails digest verification must end in an error status or a broken transfer, got {0} with digest {1}",
            corrupted,
            corrupted.BodyDigest);
        proxy.Requests.Should().Contain(r => r.IsBlob && r.Mode == FaultMode.FlipByteInBlobBodies, "the agent fetched the blob through the faulty proxy");
        await Wait.UntilAsync(() => proxy.ActiveConnections == 0, TimeSpan.FromSeconds(30), "the agent has finished with the upstream");
        File.Exists(agent.CommittedBlobPath(blob.Digest)).Should().BeFalse("a blob that fails verification must not be committed");
        agent.ErrorLines.Should().NotContain(l => l.Contains("Mirror request failed", StringComparison.Ordinal), "a bad upstream body is not an internal error");

        proxy.Mode = FaultMode.PassThrough;
        var good = await MirrorHttp.GetBlobAsync(client, image, blob);

        good.CompletedSuccessfully.Should().BeTrue("once the upstream is healthy the blob is served: {0}", good);
        good.BodyDigest.Should().Be(blob.Digest);
        await Wait.UntilAsync(() => File.Exists(agent.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), "the good blob is committed");
        (await TestImageBuilder.Sha256DigestOfFileAsync(agent.CommittedBlobPath(blob.Digest))).Should().Be(blob.Digest);
        agent.ShouldHaveNoCriticalErrors();
    }
    [Fact]
    public async Task GetBlobRange_UpstreamFlipsByte_Returns502AndNothingCommitted()
    {
        var image = fixture.Image;
        var blob = image.Layers[1];
        await using var proxy = FaultyProxy.Start(fixture.Origin.Endpoint, FaultMode.FlipByteInBlobBodies);
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(fixture.Origin, endpoint: proxy.Url));
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));

        // A range that ends before the flipped byte would look fine on its own; it must wait for the whole-blob digest.
        using var request = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.BlobPath(image, blob.Digest));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var response = await client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(502, "the blob did not verify, so no part of it is served");
        File.Exists(agent.CommittedBlobPath(blob.Digest)).Should().BeFalse();
        agent.ErrorLines.Should().NotContain(l => l.Contains("Mirror request failed", StringComparison.Ordinal), "an upstream failure is not an internal error");
    }
}
