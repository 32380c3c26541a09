using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Observability;

/// <summary>The agent's metrics as operators meet them: scraped by a real Prometheus and checked by promtool.</summary>
public sealed class PrometheusTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    [Fact]
    public async Task Metrics_ScrapedByRealPrometheus_ShowUpstreamAndCacheBytes()
    {
        var image = fixture.Image;
        var blob = image.LargestLayer;
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(fixture.Origin));
        using (var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60)))
        {
            (await MirrorHttp.GetBlobAsync(client, image, blob)).CompletedSuccessfully.Should().BeTrue("the miss");
            (await MirrorHttp.GetBlobAsync(client, image, blob)).CompletedSuccessfully.Should().BeTrue("the hit");
        }

        using var prometheus = Own(await PrometheusProcess.StartAsync("peeragent", $"127.0.0.1:{agent.MetricsPort}"));
        Diagnose("prometheus log (tail)", () => prometheus.Process.Tail(30));

        await Wait.UntilAsync(
            async () => await prometheus.ScalarAsync("up{job=\"peeragent\"}") == 1,
            TimeSpan.FromSeconds(30),
            "prometheus scrapes the agent successfully");
        (await prometheus.ScalarAsync("sum(peeragent_upstream_received_bytes_total{kind=\"blob\"})")).Should().Be(blob.Size);
        (await prometheus.ScalarAsync("sum(peeragent_mirror_served_bytes_total{kind=\"blob\",source=\"cache\"})")).Should().Be(blob.Size);
        (await prometheus.ScalarAsync(
            "sum(peeragent_mirror_cache_lookups_total{kind=\"blob\",result=\"hit\"}) / sum(peeragent_mirror_cache_lookups_total{kind=\"blob\"})"))
            .Should().Be(0.5, "one miss and one hit");
        (await prometheus.ScalarAsync("peeragent_store_used_bytes")).Should().BeGreaterThanOrEqualTo(blob.Size);
    }

    [Fact]
    public async Task Metrics_AfterHitsMissesAndErrors_PassPromtoolCheck()
    {
        var image = fixture.Image;
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(fixture.Origin, isPublic: false));
        using (var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60)))
        {
            await MirrorHttp.GetBlobAsync(client, image, image.Config);
            await MirrorHttp.GetBlobAsync(client, image, image.Config);
            await MirrorHttp.SendAsync(client, HttpMethod.Get, MirrorHttp.ManifestPath(image, image.Tag));
            await MirrorHttp.SendAsync(client, HttpMethod.Get, "v2/peeragent/app/blobs/sha256:bad");
        }

        using var work = Own(new TempDir("promtool"));
        var exposition = work.File("metrics.txt");
        await File.WriteAllTextAsync(exposition, (await agent.GetMetricsAsync()).Text);

        // promtool reads the exposition on stdin; it lints names, types and help texts.
        var check = await ProcessRunner.RunAsync("sh", ["-c", $"promtool check metrics < '{exposition}'"], TimeSpan.FromSeconds(30), check: false);

        check.ExitCode.Should().Be(0, "the exposition must pass Prometheus' own lint:\n{0}", check.Output);
        check.Output.Trim().Should().BeEmpty();
    }
}
