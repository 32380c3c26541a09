using System.Text.Json.Nodes;
using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// The chart side of several scheduler replicas (issue 9 §5): scheduler.replicas, the headless Service whose
/// EndpointSlices the replicas shard over, the environment that names it, the namespaced Role that lets the
/// scheduler read those EndpointSlices, the spread over zones and nodes, and the refusal of replicas that could not
/// find each other.
/// </summary>
public sealed class ChartShardTests
{
    private const string Fullname = ChartValueSets.Release;
    private const string Shards = $"{Fullname}-scheduler-shards";
    private const string EndpointSlices = $"{Fullname}-scheduler-endpointslices";

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task ShardService_EveryValueSet_HeadlessOverTheSchedulerPodsGrpcPort(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var deployment = Scheduler(objects);
        var service = objects.Single(o => o.ToString() == $"Service/{Shards}");
        var spec = service.Json["spec"]!;

        service.Namespace.Should().Be(ChartValueSets.Namespace);
        ((string?)service.Labels["app.kubernetes.io/component"]).Should().Be("scheduler-shards",
            "the scheduler ServiceMonitor selects Services by the scheduler's labels and must scrape each pod once");
        ((string?)spec["clusterIP"]).Should().Be("None", "the replicas need every pod's address, not one virtual IP");
        ((bool?)spec["publishNotReadyAddresses"]).Should().BeFalse("a replica that is not ready must own no blob");
        var selector = spec["selector"]!.AsObject();
        var podSelector = deployment.Json["spec"]!["selector"]!["matchLabels"]!.AsObject();
        selector.ToJsonString().Should().Be(podSelector.ToJsonString(), "the shards are exactly the scheduler Deployment's pods");
        ChartRenderTests.Selects(selector, deployment).Should().BeTrue();
        var bootstrap = objects.Single(o => o.ToString() == $"Service/{Fullname}-scheduler");
        selector.ToJsonString().Should().Be(bootstrap.Json["spec"]!["selector"]!.ToJsonString(), "agents bootstrap to the same pods");

        // The scheduler reads the replica's gRPC port from the EndpointSlice port named grpc, which is the pod port
        // the Service's targetPort resolves to.
        var port = Pods.Items(spec["ports"]).Should().ContainSingle(
            "only grpc: the replicas read one port, and metrics are scraped through the ClusterIP Service").Subject;
        ((string?)port["name"]).Should().Be("grpc");
        ((string?)port["protocol"]).Should().Be("TCP");
        var grpc = Pods.Items(Pods.Container(deployment.PodSpec!, "scheduler")["ports"]).Single(p => (string?)p["name"] == "grpc");
        TargetPort(port, Pods.Container(deployment.PodSpec!, "scheduler")).Should().Be((long?)grpc["containerPort"]);
        ((long?)grpc["containerPort"]).Should().Be(65004);
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task SchedulerDeployment_EveryValueSet_NamesTheShardServiceAndItsOwnNamespace(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var container = Pods.Container(Scheduler(objects).PodSpec!, "scheduler");

        var shardService = Pods.Env(container)["PEERAGENT_Kubernetes__ShardService"];
        shardService.Should().Be(Shards);
        objects.Should().ContainSingle(o => o.Kind == "Service" && o.Name == shardService, "the environment names a Service the chart renders");
        var ns = Pods.EnvVar(container, "PEERAGENT_Kubernetes__Namespace");
        ns["value"].Should().BeNull("the namespace comes from the downward API, so a renamed release namespace still works");
        ((string?)ns["valueFrom"]!["fieldRef"]!["fieldPath"]).Should().Be("metadata.namespace");
        Pods.Env(container)["PEERAGENT_Kubernetes__Mode"].Should().NotBe("disabled", "a shard directory needs the API");
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task Rbac_EveryValueSet_SchedulerReadsEndpointSlicesOfTheReleaseNamespaceOnly(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);

        var role = objects.Single(o => o.ToString() == $"Role/{EndpointSlices}");
        role.Namespace.Should().Be(ChartValueSets.Namespace, "a Role grants only in its own namespace");
        var rule = Pods.Items(role.Json["rules"]).Should().ContainSingle().Subject;
        Pods.Strings(rule["apiGroups"]).Should().Equal("discovery.k8s.io");
        Pods.Strings(rule["resources"]).Should().Equal("endpointslices");
        Pods.Strings(rule["verbs"]).Should().BeEquivalentTo(["get", "list", "watch"]);
        rule["resourceNames"].Should().BeNull();

        var binding = objects.Single(o => o.ToString() == $"RoleBinding/{EndpointSlices}");
        binding.Namespace.Should().Be(ChartValueSets.Namespace);
        ((string?)binding.Json["roleRef"]!["kind"]).Should().Be("Role");
        ((string?)binding.Json["roleRef"]!["name"]).Should().Be(role.Name);
        ((string?)binding.Json["roleRef"]!["apiGroup"]).Should().Be("rbac.authorization.k8s.io");
        var subject = Pods.Items(binding.Json["subjects"]).Should().ContainSingle().Subject;
        ((string?)subject["kind"]).Should().Be("ServiceAccount");
        ((string?)subject["namespace"]).Should().Be(ChartValueSets.Namespace);
        ((string?)subject["name"]).Should().Be((string?)Scheduler(objects).PodSpec!["serviceAccountName"], "bound to the account the scheduler pods run as");
        objects.Should().ContainSingle(o => o.Kind == "ServiceAccount" && o.Name == (string?)subject["name"]);

        // The nodes ClusterRole stays as it was: endpointslices are granted only in the namespace.
        var clusterRule = Pods.Items(objects.Single(o => o.Kind == "ClusterRole").Json["rules"]).Should().ContainSingle().Subject;
        Pods.Strings(clusterRule["resources"]).Should().Equal("nodes");
    }

    [Theory]
    [InlineData("defaults", null, 2)]
    [InlineData("scheduler-replicas-values.yaml", null, 3)]
    [InlineData("defaults", "scheduler.replicas=5", 5)]
    [InlineData("defaults", "scheduler.replicas=1", 1)]
    public async Task SchedulerDeployment_Replicas_ReachTheDeployment(string values, string? set, long replicas)
    {
        var deployment = Scheduler(await ChartValueSets.ObjectsAsync(values, set is null ? [] : ["--set", set]));

        ((long?)deployment.Json["spec"]!["replicas"]).Should().Be(replicas);
    }

    [Fact]
    public async Task SchedulerDeployment_Replicas_SpreadOverZonesAndNodesWithoutBlocking()
    {
        var deployment = Scheduler(await ChartValueSets.ObjectsAsync("scheduler-replicas-values.yaml"));
        var constraints = Pods.Items(deployment.PodSpec!["topologySpreadConstraints"]).ToList();

        constraints.Select(c => (string?)c["topologyKey"]).Should().BeEquivalentTo(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        foreach (var constraint in constraints)
        {
            ((string?)constraint["whenUnsatisfiable"]).Should().Be("ScheduleAnyway", "a cluster with fewer zones or nodes than replicas still runs them all");
            ((long?)constraint["maxSkew"]).Should().Be(1);
            var selector = constraint["labelSelector"]!["matchLabels"]!.AsObject();
            ChartRenderTests.Selects(selector, deployment).Should().BeTrue("{0} counts the scheduler pods", constraint["topologyKey"]);
            selector.ToJsonString().Should().Be(deployment.Json["spec"]!["selector"]!["matchLabels"]!.ToJsonString(),
                "it counts only this release's scheduler pods, not the agents");
        }
    }

    [Fact]
    public async Task PodDisruptionBudget_ThreeReplicas_LetsADrainTakeOneAtATime()
    {
        var objects = await ChartValueSets.ObjectsAsync("scheduler-replicas-values.yaml");
        var deployment = Scheduler(objects);
        var pdb = objects.Single(o => o.Kind == "PodDisruptionBudget");

        ((long?)pdb.Json["spec"]!["maxUnavailable"]).Should().Be(1, "the other replicas take over the drained one's blobs");
        ChartRenderTests.Selects(pdb.Json["spec"]!["selector"]!["matchLabels"]!.AsObject(), deployment).Should().BeTrue();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Render_KubernetesDisabledWithSeveralReplicas_FailsNamingBothValues(int replicas)
    {
        var result = await HelmTemplate.RunAsync(
            ChartValueSets.Args("defaults", "--set", $"scheduler.kubernetes.mode=disabled,scheduler.replicas={replicas}"));

        result.ExitCode.Should().Be(1, "replicas without the API cannot find each other: {0}", result.Output);
        result.Output.Should().BeEmpty();
        result.Error.Should().Contain($"scheduler.replicas={replicas}").And.Contain("scheduler.kubernetes.mode=disabled").And.Contain(Shards);
    }

    [Fact]
    public async Task Render_KubernetesDisabledWithOneReplica_NoShardServiceNoRoleAndNoShardEnvironment()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults", "--set", "scheduler.kubernetes.mode=disabled,scheduler.replicas=1");
        var deployment = Scheduler(objects);

        ((long?)deployment.Json["spec"]!["replicas"]).Should().Be(1);
        objects.Should().NotContain(o => o.Name == Shards || o.Name == EndpointSlices);
        var env = Pods.Items(Pods.Container(deployment.PodSpec!, "scheduler")["env"]).Select(e => (string?)e["name"]);
        env.Should().NotContain(["PEERAGENT_Kubernetes__ShardService", "PEERAGENT_Kubernetes__Namespace"],
            "the scheduler refuses to start with a shard Service and Kubernetes disabled");
        objects.Should().Contain(o => o.ToString() == $"Service/{Fullname}-scheduler", "agents still reach the one scheduler");
    }

    private static KubeObject Scheduler(IEnumerable<KubeObject> objects) => objects.Single(o => o.ToString() == $"Deployment/{Fullname}-scheduler");

    /// <summary>The container port a Service port's targetPort (a number or a port name) resolves to.</summary>
    private static long? TargetPort(JsonObject servicePort, JsonObject container)
    {
        var target = servicePort["targetPort"] ?? servicePort["port"];
        return target is JsonValue v && v.TryGetValue<long>(out var number)
            ? number
            : Pods.Items(container["ports"]).Where(p => (string?)p["name"] == (string?)target).Select(p => (long?)p["containerPort"]).SingleOrDefault();
    }
}
