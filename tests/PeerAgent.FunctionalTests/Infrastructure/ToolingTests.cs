using System.Net;
using System.Security.Cryptography;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Infrastructure;

/// <summary>
/// Checks the test helpers and the real tools' behaviour the agent tests rely on, without the agent: a second
/// docker-registry plays the mirror. If one of these fails, the agent tests' evidence cannot be trusted.
/// </summary>
public sealed class ToolingTests(ITestOutputHelper output) : FunctionalTestBase(output)
{
    [Fact]
    public async Task Registry_BlobGetsAndHeads_AccessLogCountsOnlyGetBytes()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync());
        DiagnoseOrigin(origin);
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [100_000, 300_000]);
        using var client = origin.CreateClient();

        foreach (var blob in image.Blobs)
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{image.Repository}/blobs/{blob.Digest}");
            (await client.SendAsync(head)).StatusCode.Should().Be(HttpStatusCode.OK);
            var bytes = await client.GetByteArrayAsync($"v2/{image.Repository}/blobs/{blob.Digest}");
            TestImageBuilder.Sha256Digest(bytes).Should().Be(blob.Digest);
        }

        await Wait.UntilAsync(() => origin.BlobGetCount == image.Blobs.Count, TimeSpan.FromSeconds(10), "every blob GET is in the access log");
        await origin.WaitForQuietAsync();
        origin.BlobBytesServed.Should().Be(image.TotalBlobBytes, "a HEAD logs its Content-Length but sends no body");
        origin.Requests.Count(r => r.Method == "HEAD").Should().Be(image.Blobs.Count);
        origin.BlobBytesByDigest.Should().BeEquivalentTo(image.Blobs.ToDictionary(b => b.Digest, b => b.Size));
    }

    [Fact]
    public async Task ContainerdPull_HostsTomlMirror_AllBlobsFromMirrorWithNsQuery()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync());
        var mirror = Own(await RegistryProcess.StartAsync());
        DiagnoseOrigin(origin);
        DiagnoseOrigin(mirror);
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [200_000, 1_000_000]);
        await TestImageBuilder.PushAsync(image, mirror);
        var containerd = await StartContainerdAsync();
        using var hosts = Own(new TempDir("hosts"));
        var hostsToml = ContainerdProcess.WriteHostsToml(hosts.Path, origin.Endpoint, $"http://{mirror.Endpoint}");
        Path.GetFileName(Path.GetDirectoryName(hostsToml)).Should().Be(origin.Endpoint, "containerd 1.6 looks up HOSTSDIR/host:port");

        var pull = await containerd.PullAsync(image.Reference, hosts.Path);
        Output.WriteLine(pull.ToString());

        await origin.WaitForQuietAsync();
        await mirror.WaitForQuietAsync();
        origin.BlobBytesServed.Should().Be(0, "every blob came from the mirror");
        mirror.BlobBytesServed.Should().Be(image.TotalBlobBytes);
        var ns = "?ns=" + Uri.EscapeDataString(origin.Endpoint);
        mirror.Requests.Should().Contain(r => r.Method == "HEAD" && r.Path == $"/v2/{image.Repository}/manifests/{image.Tag}{ns}");
        mirror.Requests.Where(r => r.IsBlob).Should().OnlyContain(r => r.Path.EndsWith(ns, StringComparison.Ordinal));
        (await containerd.CtrAsync("images", "ls", "-q")).Output.Should().Contain(image.Reference);
    }

    [Fact]
    public async Task ContainerdPull_MirrorRequiresBasicAuthAndUserGiven_AuthenticatesAtMirror()
    {
        using var work = Own(new TempDir("work"));
        var registryOptions = new RegistryOptions { User = "u", Password = "p-" + Guid.NewGuid().ToString("N")[..8] };
        var origin = Own(await RegistryProcess.StartAsync(registryOptions));
        var mirror = Own(await RegistryProcess.StartAsync(registryOptions));
        DiagnoseOrigin(mirror);
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [100_000]);
        await TestImageBuilder.PushAsync(image, mirror);
        var containerd = await StartContainerdAsync();
        using var hosts = Own(new TempDir("hosts"));
        ContainerdProcess.WriteHostsToml(hosts.Path, origin.Endpoint, $"http://{mirror.Endpoint}");

        await containerd.PullAsync(image.Reference, hosts.Path, user: $"{registryOptions.User}:{registryOptions.Password}");

        await mirror.WaitForQuietAsync();
        await origin.WaitForQuietAsync();
        mirror.Requests.Should().Contain(r => r.Status == 401, "containerd first asks without credentials and gets the Basic challenge");
        mirror.BlobBytesServed.Should().Be(image.TotalBlobBytes);
        origin.BlobBytesServed.Should().Be(0);
    }

    [Fact]
    public async Task SkopeoCopy_RegistriesConfMirror_MirrorGetsRepositoryUnchangedWithoutNs()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync());
        var mirror = Own(await RegistryProcess.StartAsync());
        DiagnoseOrigin(mirror);
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [200_000, 500_000]);
        await TestImageBuilder.PushAsync(image, mirror);
        var conf = SkopeoClient.WriteRegistriesConf(work.File("registries.conf"), origin.Endpoint, mirror.Endpoint);
        var dest = Path.Combine(work.Path, "copy");

        await SkopeoClient.CopyToDirAsync($"docker://{image.Reference}", dest, conf);

        await mirror.WaitForQuietAsync();
        await origin.WaitForQuietAsync();
        origin.Requests.Should().BeEmpty("skopeo must not fall back to the origin");
        mirror.Requests.Should().Contain(r => r.Method == "GET" && r.Path == "/v2/");
        mirror.Requests.Should().Contain(r => r.Path == $"/v2/{image.Repository}/manifests/{image.Tag}");
        mirror.Requests.Should().OnlyContain(r => !r.Path.Contains('?'), "skopeo sends no ns query");
        mirror.BlobBytesServed.Should().Be(image.TotalBlobBytes);
        foreach (var blob in image.Blobs)
        {
            (await TestImageBuilder.Sha256DigestOfFileAsync(Path.Combine(dest, blob.Hex))).Should().Be(blob.Digest);
        }
    }

    [Fact]
    public async Task FaultyProxy_FlipMode_CorruptsOnlyBlobBodiesKeepingLength()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync());
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [300_000]);
        await using var proxy = FaultyProxy.Start(origin.Endpoint, FaultMode.FlipByteInBlobBodies);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(proxy.Url + "/") };
        var layer = image.Layers[0];

        var corrupted = await client.GetByteArrayAsync($"v2/{image.Repository}/blobs/{layer.Digest}");
        var manifest = await MirrorHttp.SendAsync(client, HttpMethod.Get, $"v2/{image.Repository}/manifests/{image.ManifestDigest}", accept: image.ManifestMediaType);

        corrupted.LongLength.Should().Be(layer.Size);
        TestImageBuilder.Sha256Digest(corrupted).Should().NotBe(layer.Digest);
        var original = image.ReadBlob(layer);
        Enumerable.Range(0, original.Length).Count(i => original[i] != corrupted[i]).Should().Be(1);
        manifest.BodyDigest.Should().Be(image.ManifestDigest, "only blob bodies are altered");

        proxy.Mode = FaultMode.PassThrough;
        TestImageBuilder.Sha256Digest(await client.GetByteArrayAsync($"v2/{image.Repository}/blobs/{layer.Digest}")).Should().Be(layer.Digest);
        proxy.Requests.Should().HaveCount(3);
    }

    [Fact]
    public async Task FaultyProxy_PassThrough_HeadRangeAndAuthChallengeIntact()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync(new RegistryOptions { User = "u", Password = "secret" }));
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [300_000]);
        await using var proxy = FaultyProxy.Start(origin.Endpoint);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(proxy.Url + "/") };
        var layer = image.Layers[0];
        var path = $"v2/{image.Repository}/blobs/{layer.Digest}";
        var auth = RegistryProcess.BasicAuth("u", "secret");

        var unauthorized = await MirrorHttp.SendAsync(client, HttpMethod.Get, path);
        unauthorized.Status.Should().Be(401);
        unauthorized.WwwAuthenticate.Should().Contain("Basic realm=");

        using var head = new HttpRequestMessage(HttpMethod.Head, path) { Headers = { Authorization = auth } };
        using var headResponse = await client.SendAsync(head);
        headResponse.StatusCode.Should().Be(HttpStatusCode.OK);
        headResponse.Content.Headers.ContentLength.Should().Be(layer.Size);

        using var range = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = auth, Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999) } };
        using var rangeResponse = await client.SendAsync(range);
        rangeResponse.StatusCode.Should().Be(HttpStatusCode.PartialContent);
        var slice = await rangeResponse.Content.ReadAsByteArrayAsync();
        slice.Should().Equal(image.ReadBlob(layer).AsSpan(1000, 1000).ToArray());
    }

    [Fact]
    public async Task FaultyProxy_ThrottleRefuseBlackhole_BehaveAsConfigured()
    {
        using var work = Own(new TempDir("work"));
        var origin = Own(await RegistryProcess.StartAsync());
        var image = await TestImageBuilder.BuildAndPushAsync(origin, work, layerSizes: [4L << 20]);
        await using var proxy = FaultyProxy.Start(origin.Endpoint);
        var layer = image.Layers[0];
        var path = $"v2/{image.Repository}/blobs/{layer.Digest}";

        proxy.SetThrottle(1_000_000);
        using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(proxy.Url + "/") })
        using (var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead))
        await using (var stream = await response.Content.ReadAsStreamAsync())
        {
            var buffer = new byte[64 * 1024];
            long received = 0;
            while (received < 512 * 1024)
            {
                var read = await stream.ReadAsync(buffer);
                read.Should().BePositive();
                received += read;
            }

            proxy.BlobBodyBytesForwarded.Should().BeLessThan(layer.Size, "at 1 MB/s the proxy cannot have sent 4 MiB yet");

            // Lifting the throttle mid-body lets the rest through at full speed.
            proxy.Mode = FaultMode.PassThrough;
            await stream.CopyToAsync(Stream.Null);
        }

        proxy.Mode = FaultMode.Refuse;
        using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(proxy.Url + "/") })
        {
            var refused = await MirrorHttp.SendAsync(client, HttpMethod.Get, path);
            refused.Error.Should().NotBeNull("a refused connection yields no response");
        }

        proxy.Mode = FaultMode.Blackhole;
        using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(proxy.Url + "/"), Timeout = TimeSpan.FromSeconds(1) })
        {
            var blackholed = await MirrorHttp.SendAsync(client, HttpMethod.Get, path);
            blackholed.Error.Should().BeOfType<TaskCanceledException>("nothing ever answers");
        }
    }

    [Fact]
    public void PrometheusMetrics_TextExposition_ParsesLabelsAndSums()
    {
        var metrics = PrometheusMetrics.Parse("""
            # HELP peeragent_mirror_served_bytes_total Bytes sent.
            # TYPE peeragent_mirror_served_bytes_total counter
            peeragent_mirror_served_bytes_total{kind="blob",source="upstream"} 100
            peeragent_mirror_served_bytes_total{kind="blob",source="cache"} 2.5e3
            peeragent_mirror_served_bytes_total{kind="manifest",source="cache"} 7
            peeragent_store_used_bytes 42
            weird{a="x\"y,z}"} 1 1700000000000
            """);

        metrics.Sum("peeragent_mirror_served_bytes_total", ("kind", "blob")).Should().Be(2600);
        metrics.Sum("peeragent_mirror_served_bytes_total").Should().Be(2607);
        metrics.Get("peeragent_mirror_served_bytes_total", ("kind", "blob"), ("source", "cache")).Should().Be(2500);
        metrics.Get("peeragent_store_used_bytes").Should().Be(42);
        metrics.Get("weird", ("a", "x\"y,z}")).Should().Be(1);
        metrics.Sum("absent").Should().Be(0);
    }
}
