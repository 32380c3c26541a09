using System.Text.Json;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Monitoring;

/// <summary>
/// The Grafana dashboard the Helm chart ships, checked against a real Prometheus scraping a real cluster (two agents
/// and the scheduler, mutual TLS) while a blob is pulled through both agents: every panel's query must return data.
/// </summary>
public sealed class DashboardTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    /// <summary>
    /// Panels whose series only appear with a fault (the agents create a reason's series on its first fallback). Their
    /// queries must still be accepted by Prometheus.
    /// </summary>
    private static readonly HashSet<string> FaultOnlyPanels = new(StringComparer.Ordinal) { "Origin fallbacks by reason" };

    [Fact]
    public void Dashboard_EveryPanelAndTarget_UsesTheDatasourceVariable()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(MonitoringFiles.Dashboard));
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("type").GetString());

        variables.Should().Contain("datasource", "datasource", "the data source is chosen on import, never hard-wired");
        variables.Should().ContainKey("instance");
        var panels = Panels(dashboard);
        panels.Should().NotBeEmpty();
        foreach (var (title, panel) in panels)
        {
            panel.GetProperty("datasource").GetProperty("uid").GetString().Should().Be("${datasource}", "panel '{0}'", title);
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                target.GetProperty("datasource").GetProperty("uid").GetString().Should().Be("${datasource}", "a target of panel '{0}'", title);
            }
        }
    }

    [Fact]
    public async Task Dashboard_ClusterPullingABlob_EveryPanelQueryReturnsData()
    {
        var targets = Targets();
        var image = fixture.Image;
        var blob = image.LargestLayer;
        var cluster = await StartClusterAsync(fixture.Origin, new AgentClusterOptions { Nodes = 2, WithContainerd = false });
        var (first, second) = (cluster[0].Agent, cluster[1].Agent);
        using var prometheus = Own(await PrometheusProcess.StartAsync(
        [
            new PrometheusJob("peeragent-agent", [.. cluster.Agents.Select(a => $"127.0.0.1:{a.MetricsPort}")]),
            new PrometheusJob("peeragent-scheduler", [$"127.0.0.1:{cluster.Scheduler!.MetricsPort}"]),
        ]));
        Diagnose("prometheus log (tail)", () => prometheus.Process.Tail(30));

        // The first agent fetches from the origin; the second gets the pieces from it and then serves a hit.
        using (var client = first.CreateMirrorClient(TimeSpan.FromSeconds(30)))
        {
            (await MirrorHttp.GetBlobAsync(client, image, blob)).CompletedSuccessfully.Should().BeTrue("node-1's miss");
        }

        using (var client = second.CreateMirrorClient(TimeSpan.FromSeconds(30)))
        {
            (await MirrorHttp.GetBlobAsync(client, image, blob)).CompletedSuccessfully.Should().BeTrue("node-2's miss, from its peer");
            (await MirrorHttp.GetBlobAsync(client, image, blob)).CompletedSuccessfully.Should().BeTrue("node-2's hit");
        }

        (await cluster.SumMetricAsync("peeragent_peer_downloaded_bytes_total")).Should().BeGreaterThan(0, "node-2 got the blob's pieces from node-1");

        // Prometheus scrapes every second; a query may lag the pull by a scrape or two.
        var empty = new List<string>();
        try
        {
            await Wait.UntilAsync(
                async () =>
                {
                    empty.Clear();
                    foreach (var (panel, expr) in targets)
                    {
                        if ((await prometheus.QueryAsync(expr)).Count == 0 && !FaultOnlyPanels.Contains(panel))
                        {
                            empty.Add($"{panel}: {expr}");
                        }
                    }

                    return empty.Count == 0;
                },
                TimeSpan.FromSeconds(30),
                "every panel's query returns data");
        }
        catch (TimeoutException)
        {
            // Reported below, naming the queries without data.
        }

        empty.Should().BeEmpty("every panel of the dashboard must show data for a cluster that pulled a blob");
        foreach (var agent in cluster.Agents)
        {
            agent.ShouldHaveNoErrors();
        }

        cluster.Scheduler.ErrorLines.Should().BeEmpty("the scheduler must not log errors in a healthy pull");
    }

    /// <summary>Every target's expr with the dashboard's variables set as "All" and a rate interval of 1m; fails on an unknown variable.</summary>
    private static List<(string Panel, string Expr)> Targets()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(MonitoringFiles.Dashboard));
        var targets = new List<(string, string)>();
        foreach (var (title, panel) in Panels(dashboard))
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                var expr = target.GetProperty("expr").GetString()!
                    .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                    .Replace("$instance", ".*", StringComparison.Ordinal);
                expr.Should().NotContain("$", "panel '{0}' uses a variable this test does not know: {1}", title, expr);
                targets.Add((title, expr));
            }
        }

        targets.Should().NotBeEmpty();
        return targets;
    }

    private static List<(string Title, JsonElement Panel)> Panels(JsonDocument dashboard) =>
        [.. dashboard.RootElement.GetProperty("panels").EnumerateArray().Select(p => (p.GetProperty("title").GetString()!, p.Clone()))];
}
