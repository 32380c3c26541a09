using System.Net;
using System.Text.Json;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Mirror;

/// <summary>
/// The mirror's HTTP contract against a real docker-registry origin: coalescing, ranges, HEAD, errors, and tags
/// that are never stale. Each test counts what reached the origin from its access log.
/// </summary>
public sealed class MirrorApiTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task GetBlob_ManyConcurrentMisses_OriginServesOneCopy()
    {
        const int Clients = 20;

        // A throttled origin keeps the download running for about a second, so the clients surely overlap it
        // (unthrottled, a loopback download can finish before the last client asks, and nothing coalesces).
        await using var slowOrigin = FaultyProxy.Start(Origin.Endpoint);
        slowOrigin.SetThrottle(10_000_000);
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, endpoint: slowOrigin.Url));
        var blob = Image.LargestLayer;
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));

        var responses = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => MirrorHttp.GetBlobAsync(client, Image, blob)));

        responses.Should().OnlyContain(r => r.CompletedSuccessfully && r.BodyDigest == blob.Digest, "every client gets the whole, correct blob");
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesByDigest.Should().Equal(
            new Dictionary<string, long> { [blob.Digest] = blob.Size },
            "{0} concurrent clients must share one upstream fetch\n{1}",
            Clients,
            Origin.DescribeRequests());
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum("peeragent_mirror_requests_total", ("kind", "blob"), ("outcome", "coalesced")).Should().BeGreaterThan(0, "some clients joined the running download");
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task GetBlob_RangeOfCachedBlob_Returns206WithThoseBytes()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var blob = Image.LargestLayer;
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));
        (await MirrorHttp.GetBlobAsync(client, Image, blob)).CompletedSuccessfully.Should().BeTrue();
        await Origin.WaitForBlobBytesAsync(blob.Digest, blob.Size); // the cold fetch's own log line, however late
        await Origin.WaitForQuietAsync();
        var getsBefore = Origin.BlobGetCount;

        using var request = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.BlobPath(Image, blob.Digest));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(5_000_000, 5_000_999);
        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.PartialContent);
        response.Content.Headers.ContentRange!.ToString().Should().Be($"bytes 5000000-5000999/{blob.Size}");
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(Image.ReadBlob(blob).AsSpan(5_000_000, 1000).ToArray());
        await Origin.WaitForQuietAsync();
        Origin.BlobGetCount.Should().Be(getsBefore, "a range of a cached blob comes from the store");
    }

    [Fact]
    public async Task HeadBlob_CachedWithRange_IgnoresTheRange()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var blob = Image.LargestLayer;
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));
        (await MirrorHttp.GetBlobAsync(client, Image, blob)).CompletedSuccessfully.Should().BeTrue();

        using var request = new HttpRequestMessage(HttpMethod.Head, MirrorHttp.BlobPath(Image, blob.Digest));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK, "RFC 9110 §14.2: a server ignores Range on HEAD");
        response.Content.Headers.ContentLength.Should().Be(blob.Size);
        response.Content.Headers.ContentRange.Should().BeNull();
    }

    [Fact]
    public async Task HeadBlob_Cached_AnswersFromStoreWithRegistryHeaders()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var blob = Image.Layers[0];
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));
        (await MirrorHttp.GetBlobAsync(client, Image, blob)).CompletedSuccessfully.Should().BeTrue();
        await Origin.WaitForQuietAsync();
        var requestsBefore = Origin.Requests.Count;

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, MirrorHttp.BlobPath(Image, blob.Digest)));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentLength.Should().Be(blob.Size);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/octet-stream");
        response.Headers.GetValues("Docker-Content-Digest").Should().Equal(blob.Digest);
        await Origin.WaitForQuietAsync();
        Origin.Requests.Count.Should().Be(requestsBefore, "a public registry's cached blob needs no upstream call\n{0}", Origin.DescribeRequests());
    }

    [Fact]
    public async Task GetBlob_LargerThanStoreQuota_StreamedThroughVerifiedAndNotStored()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, quotaBytes: 2L << 20));
        var blob = Image.LargestLayer;
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));

        var whole = await MirrorHttp.GetBlobAsync(client, Image, blob);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.BlobPath(Image, blob.Digest));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 1023);
        using var rangedResponse = await client.SendAsync(ranged);
        var rangedBody = await rangedResponse.Content.ReadAsByteArrayAsync();

        whole.CompletedSuccessfully.Should().BeTrue(whole.ToString());
        whole.BodyDigest.Should().Be(blob.Digest);
        rangedResponse.StatusCode.Should().Be(HttpStatusCode.OK, "a range that cannot be verified on its own is answered with the whole, verified blob");
        TestImageBuilder.Sha256Digest(rangedBody).Should().Be(blob.Digest);
        File.Exists(agent.CommittedBlobPath(blob.Digest)).Should().BeFalse("the blob does not fit the quota");
        agent.ShouldHaveNoErrors();
    }

    [Theory]
    [InlineData("v2/peeragent/app/blobs/sha256:nothex", 400, "DIGEST_INVALID")]
    [InlineData("v2/peeragent/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", 400, "DIGEST_INVALID")]
    [InlineData("v2/Peeragent/App/manifests/v1", 400, "NAME_INVALID")]
    [InlineData("v2/peeragent/app/manifests/-bad-tag", 400, "MANIFEST_INVALID")]
    [InlineData("v2/peeragent/app/tags/list", 404, "UNSUPPORTED")]
    public async Task Request_InvalidInput_GetsOciErrorAndNeverReachesOrigin(string path, int status, string code)
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(30));

        using var response = await client.GetAsync(path);

        ((int)response.StatusCode).Should().Be(status);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("errors")[0].GetProperty("code").GetString().Should().Be(code);
        body.RootElement.GetProperty("errors")[0].GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace();
        await Origin.WaitForQuietAsync();
        Origin.Requests.Should().BeEmpty("bad input is refused before any upstream call");
    }

    [Theory]
    [InlineData("bytes=9-2", 400)]
    [InlineData("bytes=999999999-", 416)]
    [InlineData("bytes=99999999999999999999-", 416)]
    public async Task GetBlob_BadRangeOnCachedBlob_IsRefused(string range, int status)
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var blob = Image.Layers[0];
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(30));
        (await MirrorHttp.GetBlobAsync(client, Image, blob)).CompletedSuccessfully.Should().BeTrue();

        using var request = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.BlobPath(Image, blob.Digest));
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(status);
        if (status == 416)
        {
            response.Content.Headers.ContentRange!.ToString().Should().Be($"bytes */{blob.Size}");
        }
    }

    [Theory]
    [InlineData("lines=1-2")]
    [InlineData("bytes=0-1,5-6")]
    public async Task GetBlob_RangeHttpLetsUsIgnoreOnCachedBlob_Returns200WholeBlob(string range)
    {
        // RFC 9110 §14.2: an unknown range unit must be ignored; several ranges may be (this mirror serves one).
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var blob = Image.Layers[0];
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(30));
        (await MirrorHttp.GetBlobAsync(client, Image, blob)).CompletedSuccessfully.Should().BeTrue();

        using var request = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.BlobPath(Image, blob.Digest));
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentRange.Should().BeNull();
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(Image.ReadBlob(blob));
    }

    [Fact]
    public async Task GetBlob_UpstreamUnreachable_Returns502SoRuntimeFallsBack()
    {
        var deadEndpoint = $"http://127.0.0.1:{FreePort.Get()}";
        var agent = await StartAgentAsync(new AgentOptions
        {
            DefaultRegistry = Origin.Endpoint,
            Registries = [new AgentRegistry(Origin.Endpoint, Public: true, Endpoint: deadEndpoint)],
            ExtraArgs = ["--Upstream:MaxRetries=0"],
        });
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(30));

        var blob = await MirrorHttp.GetBlobAsync(client, Image, Image.Layers[0]);
        var manifest = await MirrorHttp.SendAsync(client, HttpMethod.Get, MirrorHttp.ManifestPath(Image, Image.Tag));

        blob.Status.Should().Be(502, "containerd moves to the next host on a 5xx: {0}", blob);
        manifest.Status.Should().Be(502);
        File.Exists(agent.CommittedBlobPath(Image.Layers[0].Digest)).Should().BeFalse();
    }

    [Fact]
    public async Task GetManifest_TagPushedAgain_ResolvedUpstreamNeverStale()
    {
        using var work = new TempDir("retag");
        var repository = "peeragent/retag";
        var first = await TestImageBuilder.BuildAndPushAsync(Origin, work, repository, "latest", [1024]);
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        using var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(30));
        (await DigestOfTagAsync(client, first)).Should().Be(first.ManifestDigest);

        var second = await TestImageBuilder.BuildAndPushAsync(Origin, work, repository, "latest", [2048]);

        second.ManifestDigest.Should().NotBe(first.ManifestDigest);
        (await DigestOfTagAsync(client, second)).Should().Be(second.ManifestDigest, "a tag is always resolved upstream");
    }

    private static async Task<string> DigestOfTagAsync(HttpClient client, TestImage image)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, MirrorHttp.ManifestPath(image, image.Tag));
        request.Headers.Accept.ParseAdd(TestImageBuilder.ManifestMediaType);
        using var response = await client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadAsByteArrayAsync();
        var digest = TestImageBuilder.Sha256Digest(body);
        response.Headers.GetValues("Docker-Content-Digest").Should().Equal(digest);
        return digest;
    }
}
