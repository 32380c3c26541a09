namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>The post-delete hook that restores every node's runtime configuration on helm uninstall.</summary>
public sealed class ChartHookTests
{
    private const string Fullname = ChartValueSets.Release;

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task CleanupHook_EveryValueSet_UninstallsWithTheSameFlagsAndMountsAsInstall(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var agent = ChartRenderTests.Agent(objects).PodSpec!;
        var cleanup = ChartRenderTests.Cleanup(objects).PodSpec!;

        var installs = Pods.Names(agent, "initContainers").Where(n => n.StartsWith("install-", StringComparison.Ordinal)).ToList();
        Pods.Names(cleanup, "initContainers").Should().Equal(installs.Select(n => "un" + n));
        foreach (var install in installs)
        {
            var installer = Pods.Container(agent, install);
            var uninstaller = Pods.Container(cleanup, "un" + install);
            Pods.Args(uninstaller).Should().Equal(["uninstall", .. Pods.Args(installer).Skip(1)]);
            Pods.Args(installer)[0].Should().Be("install");
            Pods.Mounts(uninstaller).Select(m => m.ToJsonString()).Should().Equal(Pods.Mounts(installer).Select(m => m.ToJsonString()));
            foreach (var mount in Pods.Mounts(installer).Where(m => (string?)m["name"] != "tmp"))
            {
                var name = (string)mount["name"]!;
                Pods.Volume(cleanup, name).ToJsonString().Should().Be(Pods.Volume(agent, name).ToJsonString());
            }
        }

        Pods.Items(cleanup["tolerations"]).Select(t => t.ToJsonString()).Should().Equal(
            Pods.Items(agent["tolerations"]).Select(t => t.ToJsonString()), "the hook must reach every node the agents ran on");
    }

    [Fact]
    public async Task CleanupHook_Defaults_ReportsOnAHeadlessServiceTheJobWaitsFor()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");
        var hooks = objects.Where(o => o.IsHook).ToList();

        hooks.Select(o => o.ToString()).Should().BeEquivalentTo(
            [$"Service/{Fullname}-cleanup", $"DaemonSet/{Fullname}-cleanup", $"Job/{Fullname}-cleanup-wait"]);
        foreach (var hook in hooks)
        {
            ((string?)hook.Annotations["helm.sh/hook"]).Should().Be("post-delete");
            ((string?)hook.Annotations["helm.sh/hook-delete-policy"]).Should().Be("before-hook-creation,hook-succeeded");
            hook.PodSpec?["serviceAccountName"].Should().BeNull("the chart's service accounts are deleted before post-delete hooks run");
        }

        var weights = hooks.ToDictionary(h => h.Kind, h => int.Parse((string)h.Annotations["helm.sh/hook-weight"]!, System.Globalization.CultureInfo.InvariantCulture));
        weights["Service"].Should().BeLessThan(weights["DaemonSet"]);
        weights["DaemonSet"].Should().BeLessThan(weights["Job"], "the Job that helm waits for comes last");

        var service = hooks.Single(h => h.Kind == "Service");
        ((string?)service.Json["spec"]!["clusterIP"]).Should().Be("None");
        ((bool?)service.Json["spec"]!["publishNotReadyAddresses"]).Should().BeTrue("pods still in their uninstall init containers must be listed");
        var port = (long)service.Json["spec"]!["ports"]![0]!["port"]!;
        var daemonSet = hooks.Single(h => h.Kind == "DaemonSet");
        ChartRenderTests.Selects(service.Json["spec"]!["selector"]!.AsObject(), daemonSet).Should().BeTrue();
        var report = Pods.Container(daemonSet.PodSpec!, "report");
        Pods.Args(report).Should().Equal("cleanup-report", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--node", "$(NODE_NAME)");
        report["env"]!.AsArray().Should().Contain(
            e => (string?)e!["name"] == "NODE_NAME" && (string?)e["valueFrom"]!["fieldRef"]!["fieldPath"] == "spec.nodeName",
            "cleanup-wait names the nodes that reported, from the downward API");
        ((long?)report["ports"]![0]!["containerPort"]).Should().Be(port);
        ((bool?)daemonSet.PodSpec!["hostNetwork"] ?? false).Should().BeFalse("the report port lives on the pod network, clear of the node's ports");

        var job = hooks.Single(h => h.Kind == "Job");
        var wait = Pods.Args(Pods.Container(job.PodSpec!, "wait"));
        wait[0].Should().Be("cleanup-wait");
        Pods.Flag(wait, "--service").Should().Be($"{service.Name}.{ChartValueSets.Namespace}.svc.cluster.local");
        Pods.Flag(wait, "--port").Should().Be(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Pods.Flag(wait, "--timeout").Should().Be("4m");
        ((long?)job.Json["spec"]!["backoffLimit"]).Should().Be(0);
    }

    [Fact]
    public async Task CleanupHook_Disabled_NoHookObjects()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults", "--set", "cleanup.enabled=false");

        objects.Should().NotContain(o => o.IsHook || o.Name.Contains("cleanup", StringComparison.Ordinal));
    }
}
