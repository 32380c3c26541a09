using System.Net.Http.Headers;
using System.Text;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Mirror;

/// <summary>
/// A private (non-public) registry: cached content must only reach clients the upstream would serve, so the agent
/// checks each request's credentials upstream before serving from its store.
/// </summary>
public sealed class AuthTests(AuthOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<AuthOriginFixture>
{
    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    private AuthenticationHeaderValue ValidAuth => RegistryProcess.BasicAuth(AuthOriginFixture.User, fixture.Password);

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task GetCachedBlob_NoOrWrongCredentials_Refused401WithoutBlobBytes()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        using var client = agent.CreateMirrorClient();
        await PrimeCacheAsync(agent, client);
        var blob = Image.LargestLayer;
        var before = await agent.GetMetricsAsync();

        var anonymous = await MirrorHttp.GetBlobAsync(client, Image, blob);
        var wrong = await MirrorHttp.GetBlobAsync(client, Image, blob, RegistryProcess.BasicAuth(AuthOriginFixture.User, "wrong-" + fixture.Password));
        var anonymousHead = await MirrorHttp.SendAsync(client, HttpMethod.Head, MirrorHttp.BlobPath(Image, blob.Digest));

        anonymous.Status.Should().Be(401, "a cached blob of a private registry needs credentials ({0})", anonymous);
        anonymous.WwwAuthenticate.Should().Contain($"realm=\"{Origin.Options.Realm}\"", "the upstream's challenge is passed through so clients know how to log in");
        anonymous.Body.Length.Should().BeLessThan(4096, "no blob bytes may leak in a refusal");
        wrong.Status.Should().Be(401, "wrong credentials are refused ({0})", wrong);
        wrong.Body.Length.Should().BeLessThan(4096);
        anonymousHead.Status.Should().Be(401);
        var after = await agent.GetMetricsAsync();
        (after.Sum("peeragent_mirror_served_bytes_total", ("kind", "blob")) - before.Sum("peeragent_mirror_served_bytes_total", ("kind", "blob")))
            .Should().BeLessThan(blob.Size, "refused requests must not be counted as served blob bytes\n{0}", after.Describe("peeragent_"));
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task GetCachedBlob_ValidCredentials_ServedFromCacheWithCorrectBytes()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        using var client = agent.CreateMirrorClient();
        await PrimeCacheAsync(agent, client);
        await Origin.ResetAsync();
        var blob = Image.LargestLayer;

        var response = await MirrorHttp.GetBlobAsync(client, Image, blob, ValidAuth);

        response.CompletedSuccessfully.Should().BeTrue(response.ToString());
        response.BodyDigest.Should().Be(blob.Digest);
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(0, "the blob is cached; only the auth check may touch the origin\n{0}", Origin.DescribeRequests());
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum("peeragent_mirror_auth_checks_total").Should().BePositive("a private registry's cached content is served only after an upstream check");
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task GetCachedBlob_ThroughRepositoryThatDoesNotHoldIt_NotServed()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        using var client = agent.CreateMirrorClient();
        await PrimeCacheAsync(agent, client);
        var blob = Image.LargestLayer;

        // Valid credentials, a cached blob, but a repository the origin does not link it to.
        var elsewhere = await MirrorHttp.SendAsync(
            client,
            HttpMethod.Get,
            $"v2/peeragent/other/blobs/{blob.Digest}?ns={Uri.EscapeDataString(Image.RegistryHost)}",
            ValidAuth);

        elsewhere.Status.Should().Be(404, "the origin would not serve this blob through that repository ({0})", elsewhere);
        elsewhere.Body.Length.Should().BeLessThan(4096, "no blob bytes may leak");
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task GetCachedManifestByDigest_NoCredentials_Refused401()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        using var client = agent.CreateMirrorClient();
        await PrimeCacheAsync(agent, client);

        var anonymous = await MirrorHttp.SendAsync(client, HttpMethod.Get, MirrorHttp.ManifestPath(Image, Image.ManifestDigest), accept: Image.ManifestMediaType);
        var valid = await MirrorHttp.SendAsync(client, HttpMethod.Get, MirrorHttp.ManifestPath(Image, Image.ManifestDigest), ValidAuth, Image.ManifestMediaType);

        anonymous.Status.Should().Be(401, anonymous.ToString());
        Encoding.UTF8.GetString(anonymous.Body).Should().NotContain(Image.Config.Digest, "the manifest must not leak in a refusal");
        valid.CompletedSuccessfully.Should().BeTrue(valid.ToString());
        valid.BodyDigest.Should().Be(Image.ManifestDigest);
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task PullWithUser_PrivateRegistry_BlobsComeThroughAgent()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        var containerd = await StartContainerdAsync();
        var hosts = Own(new TempDir("hosts"));
        ContainerdProcess.WriteHostsToml(hosts.Path, Origin.Endpoint, agent.MirrorUrl);

        var pull = await containerd.PullAsync(Image.Reference, hosts.Path, user: $"{AuthOriginFixture.User}:{fixture.Password}");
        Output.WriteLine(pull.ToString());

        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(Image.TotalBlobBytes, "each blob leaves the origin once\n{0}", Origin.DescribeRequests());
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum("peeragent_upstream_received_bytes_total", ("kind", "blob")).Should().Be(
            Image.TotalBlobBytes, "containerd's Basic credentials went through the agent to the origin\n{0}", metrics.Describe("peeragent_"));
        AssertNoSecretsIn(agent.LogText + "\n" + metrics.Text);
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task LogsAndMetrics_AfterAuthenticatedAndFailedRequests_ContainNoCredentials()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin, isPublic: false));
        using var client = agent.CreateMirrorClient();
        await PrimeCacheAsync(agent, client);
        await MirrorHttp.GetBlobAsync(client, Image, Image.Config, RegistryProcess.BasicAuth(AuthOriginFixture.User, fixture.Password + "x"));
        await MirrorHttp.GetBlobAsync(client, Image, Image.Config);

        var metrics = await agent.GetMetricsAsync();

        AssertNoSecretsIn(agent.LogText + "\n" + metrics.Text);
        agent.ShouldHaveNoErrors();
    }

    /// <summary>Fetches the manifest and every blob with valid credentials so the agent caches them.</summary>
    private async Task PrimeCacheAsync(AgentProcess agent, HttpClient client)
    {
        var manifest = await MirrorHttp.SendAsync(client, HttpMethod.Get, MirrorHttp.ManifestPath(Image, Image.Tag), ValidAuth, Image.ManifestMediaType);
        manifest.CompletedSuccessfully.Should().BeTrue("priming the manifest: {0}", manifest);
        foreach (var blob in Image.Blobs)
        {
            var response = await MirrorHttp.GetBlobAsync(client, Image, blob, ValidAuth);
            response.CompletedSuccessfully.Should().BeTrue("priming {0}: {1}", blob.Digest, response);
            response.BodyDigest.Should().Be(blob.Digest);
        }

        foreach (var blob in Image.Blobs)
        {
            await Wait.UntilAsync(() => File.Exists(agent.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), $"blob {blob.Digest} is committed to the store");
        }
    }

    private void AssertNoSecretsIn(string text)
    {
        var basic = ValidAuth.Parameter!;
        text.Should().NotContain(fixture.Password, "the password must never be logged or exported");
        text.Should().NotContain(basic, "the Authorization value must never be logged or exported");
    }
}
