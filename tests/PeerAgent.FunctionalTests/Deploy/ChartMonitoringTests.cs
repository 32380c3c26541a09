using System.Text.Json.Nodes;
using PeerAgent.Testing;
using YamlDotNet.RepresentationModel;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>ServiceMonitors, the PrometheusRule and the Grafana dashboard ConfigMap, made from the files the monitoring tests check.</summary>
public sealed class ChartMonitoringTests
{
    private const string Fullname = ChartValueSets.Release;

    private static string ChartFile(string name) => Path.Combine(HelmTemplate.Chart, "files", name);

    [Fact]
    public async Task Monitoring_Defaults_Off()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");

        objects.Should().NotContain(o => o.Kind == "ServiceMonitor" || o.Kind == "PrometheusRule" || o.Kind == "ConfigMap");
    }

    [Fact]
    public async Task PrometheusRule_Enabled_ShipsEveryAlertOfTheRuleFileUnchanged()
    {
        var objects = await ChartValueSets.ObjectsAsync("monitoring-on-values.yaml");
        var rule = objects.Single(o => o.Kind == "PrometheusRule");
        var stream = new YamlStream();
        stream.Load(new StringReader(await File.ReadAllTextAsync(ChartFile("alerts.yaml"))));
        var file = KubeObject.Convert(stream.Documents.Single().RootNode)!;

        var shipped = Alerts(rule.Json["spec"]!["groups"]!).ToDictionary(a => (string)a["alert"]!);
        var expected = Alerts(file["groups"]!).ToDictionary(a => (string)a["alert"]!);
        expected.Should().HaveCount(6);
        shipped.Keys.Should().BeEquivalentTo(
            ["PeerAgentAgentDown", "PeerAgentSchedulerUnreachable", "PeerAgentLowPeerShare", "PeerAgentOriginFallbackSpike",
             "PeerAgentPullsFailing", "PeerAgentStoreNearQuota"]);
        shipped.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, alert) in expected)
        {
            var copy = shipped[name];
            ((string?)copy["expr"]).Should().Be((string?)alert["expr"], name);
            ((string?)copy["for"]).Should().Be((string?)alert["for"], name);
            copy["labels"]!.ToJsonString().Should().Be(alert["labels"]!.ToJsonString(), name);
            ((string?)copy["annotations"]!["summary"]).Should().Be((string?)alert["annotations"]!["summary"], "{0}: Prometheus templates pass through Helm untouched", name);
            ((string?)copy["annotations"]!["runbook_url"]).Should().Be($"https://peeragent.example/docs/{alert["annotations"]!["runbook_url"]}");
        }

        ((string?)rule.Labels["release"]).Should().Be("prometheus");
    }

    [Fact]
    public async Task ServiceMonitors_Enabled_ScrapeTheAgentsAndTheSchedulerAsTheJobsTheAlertsName()
    {
        var objects = await ChartValueSets.ObjectsAsync("monitoring-on-values.yaml");
        var monitors = objects.Where(o => o.Kind == "ServiceMonitor").ToList();

        monitors.Should().HaveCount(2);
        foreach (var (component, job) in new[] { ("agent", "peeragent-agent"), ("scheduler", "peeragent-scheduler") })
        {
            var monitor = monitors.Single(m => m.Name == $"{Fullname}-{component}");
            var service = objects.Single(o => o.ToString() == $"Service/{Fullname}-{component}");
            var selector = monitor.Json["spec"]!["selector"]!["matchLabels"]!.AsObject();
            selector.Should().NotBeEmpty();
            selector.Should().OnlyContain(l => (string?)service.Labels[l.Key] == (string?)l.Value, "{0} selects {1}", monitor, service);
            objects.Where(o => o.Kind == "Service" && !o.IsHook && selector.All(l => (string?)o.Labels[l.Key] == (string?)l.Value))
                .Should().ContainSingle("{0} must not scrape other Services", monitor);

            var endpoint = monitor.Json["spec"]!["endpoints"]![0]!;
            var port = (string?)endpoint["port"];
            Pods.Items(service.Json["spec"]!["ports"]).Should().Contain(p => (string?)p["name"] == port);
            Pods.Items(endpoint["relabelings"]).Should().Contain(r => (string?)r["targetLabel"] == "job" && (string?)r["replacement"] == job,
                "files/alerts.yaml and files/dashboard.json select job=\"{0}\"", job);
            ((string?)monitor.Labels["release"]).Should().Be("prometheus");
        }
    }

    [Fact]
    public async Task DashboardConfigMap_Enabled_CarriesTheSidecarLabelAndTheDashboardJson()
    {
        var objects = await ChartValueSets.ObjectsAsync("monitoring-on-values.yaml");
        var map = objects.Single(o => o.Kind == "ConfigMap");

        ((string?)map.Labels["grafana_dashboard"]).Should().Be("1");
        ((string?)map.Annotations["grafana_folder"]).Should().Be("PeerAgent");
        var data = map.Json["data"]!.AsObject();
        data.Should().ContainSingle();
        var shipped = JsonNode.Parse((string)data.Single().Value!);
        var file = JsonNode.Parse(await File.ReadAllTextAsync(ChartFile("dashboard.json")));
        JsonNode.DeepEquals(shipped, file).Should().BeTrue("the ConfigMap holds files/dashboard.json as it is");
        ((string?)shipped!["uid"]).Should().Be("peeragent");
    }

    [Fact]
    public async Task DashboardConfigMap_OtherLabelAndNamespace_AreUsed()
    {
        var objects = await ChartValueSets.ObjectsAsync(
            "monitoring-on-values.yaml", "--set", "dashboard.label=dashboards,dashboard.labelValue=peeragent,dashboard.namespace=grafana");
        var map = objects.Single(o => o.Kind == "ConfigMap");

        ((string?)map.Labels["dashboards"]).Should().Be("peeragent");
        map.Labels.ContainsKey("grafana_dashboard").Should().BeFalse();
        map.Namespace.Should().Be("grafana");
    }

    private static IEnumerable<JsonObject> Alerts(JsonNode groups) =>
        Pods.Items(groups).SelectMany(g => Pods.Items(g["rules"])).Where(r => r["alert"] is not null);
}
