using System.Text.Json.Nodes;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// The Helm chart rendered (helm-template, offline) with its defaults and every ci values file, checked as objects:
/// the agent DaemonSet, its installer init containers and host paths, the scheduler, security contexts and RBAC.
/// </summary>
public sealed class ChartRenderTests
{
    private const string Fullname = ChartValueSets.Release;

    private static readonly string[] PathFlags =
        ["--state-dir", "--certs-dir", "--containerd-config", "--registries-conf-dir", "--docker-certs-dir", "--hosts-file", "--docker-tls-dir"];

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task Render_EveryValueSet_HasTheWorkloadsWithStandardLabelsInTheReleaseNamespace(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);

        objects.Select(o => o.ToString()).Should().Contain(
            [$"DaemonSet/{Fullname}-agent", $"Deployment/{Fullname}-scheduler", $"Service/{Fullname}-scheduler", $"Service/{Fullname}-agent",
             $"PodDisruptionBudget/{Fullname}-scheduler", $"ServiceAccount/{Fullname}-agent", $"ServiceAccount/{Fullname}-scheduler"]);
        objects.Select(o => o.ToString()).Should().OnlyHaveUniqueItems();
        foreach (var o in objects.Where(o => !(o.Kind == "ConfigMap" && o.Name.EndsWith("-dashboard", StringComparison.Ordinal)) && o.Kind is not ("ClusterRole" or "ClusterRoleBinding")))
        {
            o.Namespace.Should().Be(ChartValueSets.Namespace, "{0} belongs in the release namespace", o);
        }

        foreach (var o in objects)
        {
            o.Labels.Select(l => l.Key).Should().Contain(
                ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/component",
                 "app.kubernetes.io/managed-by", "helm.sh/chart"], "{0} carries the standard labels", o);
        }
    }

    [Fact]
    public async Task AgentDaemonSet_Defaults_RunsOnEveryNodeOnTheHostNetworkWithProbes()
    {
        var agent = Agent(await ChartValueSets.ObjectsAsync("defaults"));
        var pod = agent.PodSpec!;

        ((bool?)pod["hostNetwork"]).Should().BeTrue();
        ((string?)pod["dnsPolicy"]).Should().Be("ClusterFirstWithHostNet", "the agent resolves the scheduler Service from the host network");
        ((string?)pod["priorityClassName"]).Should().Be("system-node-critical");
        Pods.Items(pod["tolerations"]).Should().ContainSingle(t => (string?)t["operator"] == "Exists" && t["key"] == null && t["effect"] == null,
            "one toleration with operator Exists and no key tolerates every taint");
        ((string?)agent.Json["spec"]!["updateStrategy"]!["type"]).Should().Be("RollingUpdate");
        agent.Json["spec"]!["updateStrategy"]!["rollingUpdate"]!["maxUnavailable"]!.ToString().Should().Be("10%");

        var container = Pods.Container(pod, "agent");
        Probe(container, "startupProbe").Should().Be(("/healthz", 65003));
        Probe(container, "readinessProbe").Should().Be(("/readyz", 65003));
        Probe(container, "livenessProbe").Should().Be(("/healthz", 65003));
        container["resources"]!["requests"].Should().NotBeNull();
        container["resources"]!["limits"].Should().NotBeNull();
    }

    [Fact]
    public async Task AgentDaemonSet_Defaults_TakesNodeNameAndHostIpFromTheDownwardApi()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");
        var container = Pods.Container(Agent(objects).PodSpec!, "agent");
        var env = Pods.Env(container);

        ((string?)Pods.EnvVar(container, "NODE_NAME")["valueFrom"]!["fieldRef"]!["fieldPath"]).Should().Be("spec.nodeName");
        ((string?)Pods.EnvVar(container, "HOST_IP")["valueFrom"]!["fieldRef"]!["fieldPath"]).Should().Be("status.hostIP");
        env["PEERAGENT_Node__Name"].Should().Be("$(NODE_NAME)");
        env["PEERAGENT_Peer__AdvertiseUrl"].Should().Be("https://$(HOST_IP):65002");
        env["PEERAGENT_Mirror__ListenUrl"].Should().Be("http://127.0.0.1:65001");
        env["PEERAGENT_Store__DataDir"].Should().Be("/var/lib/peeragent");
        Pods.Names(Agent(objects).PodSpec!, "containers").Should().Equal("agent");

        var scheduler = objects.Single(o => o.ToString() == $"Service/{Fullname}-scheduler");
        var grpc = Pods.Items(scheduler.Json["spec"]!["ports"]).Single(p => (string?)p["name"] == "grpc");
        env["PEERAGENT_Scheduler__Address"].Should().Be($"https://{scheduler.Name}:{grpc["port"]}");
    }

    [Theory]
    [InlineData(null, "21474836480")]
    [InlineData("100Gi", "107374182400")]
    [InlineData("512Mi", "536870912")]
    [InlineData("1000", "1000")]
    public async Task AgentDaemonSet_StoreQuota_IsStoreQuotaBytes(string? quota, string bytes)
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults", quota is null ? [] : ["--set", $"agent.store.quota={quota}"]);

        Pods.Env(Pods.Container(Agent(objects).PodSpec!, "agent"))["PEERAGENT_Store__QuotaBytes"].Should().Be(bytes);
    }

    [Fact]
    public async Task AgentDaemonSet_Defaults_StoreIsAHostPathDirectoryOfItsOwn()
    {
        var pod = Agent(await ChartValueSets.ObjectsAsync("defaults")).PodSpec!;
        var agent = Pods.Container(pod, "agent");

        var data = Pods.HostPathAt(pod, agent, "/var/lib/peeragent");
        data.Should().Be("/var/lib/peeragent/store");
        ((string?)Pods.HostPaths(pod)[data!]["hostPath"]!["type"]).Should().Be("DirectoryOrCreate");
        var chown = Pods.Container(pod, "data-dir");
        Pods.HostPathAt(pod, chown, "/var/lib/peeragent").Should().Be(data, "the init container hands the same directory to the agent's user");
        string.Join(' ', Pods.Args(chown)).Should().Contain("chown -R 1654:1654 /var/lib/peeragent");
    }

    [Fact]
    public async Task AgentDaemonSet_Registries_BecomeRegistriesEnvironment()
    {
        var env = Pods.Env(Pods.Container(Agent(await ChartValueSets.ObjectsAsync("private-registry-values.yaml")).PodSpec!, "agent"));

        env.Where(e => e.Key.StartsWith("PEERAGENT_Registries__", StringComparison.Ordinal)).Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            ["PEERAGENT_Registries__0__Host"] = "registry.example",
            ["PEERAGENT_Registries__0__Public"] = "true",
            ["PEERAGENT_Registries__0__Username"] = "puller",
            ["PEERAGENT_Registries__0__PasswordFile"] = "/etc/peeragent/registry-auth/password",
            ["PEERAGENT_Registries__1__Host"] = "cache.internal:5000",
            ["PEERAGENT_Registries__1__Endpoint"] = "http://cache.internal:5000",
            ["PEERAGENT_Registries__1__PlainHttp"] = "true",
        });
    }

    [Fact]
    public async Task AgentDaemonSet_Docker_AddsEveryDockerRegistryToTheAgentsRegistriesOnce()
    {
        var env = Pods.Env(Pods.Container(Agent(await ChartValueSets.ObjectsAsync("docker-values.yaml")).PodSpec!, "agent"));

        var hosts = env.Where(e => e.Key.EndsWith("__Host", StringComparison.Ordinal)).Select(e => e.Value);
        hosts.Should().BeEquivalentTo(["registry.example:5000", "docker.io"], "each domain maps to a registry of the agent's list");
        env["PEERAGENT_DockerMirror__Enabled"].Should().Be("true");
        env["PEERAGENT_DockerMirror__ListenAddress"].Should().Be("127.0.0.77");
        env["PEERAGENT_DockerMirror__Port"].Should().Be("443");
        env["PEERAGENT_DockerMirror__DomainPattern"].Should().Be("{registry}.peeragent.internal");
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task Containers_EveryValueSet_AreUnprivilegedWithAReadOnlyRootAndNoCapabilitiesBeyondTheirJob(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var docker = Pods.Names(Agent(objects).PodSpec!, "initContainers").Contains("install-docker");

        foreach (var workload in objects.Where(o => o.PodSpec is not null))
        {
            ((bool?)workload.PodSpec!["hostPID"] ?? false).Should().BeFalse();
            ((string?)workload.PodSpec["securityContext"]?["seccompProfile"]?["type"]).Should().Be("RuntimeDefault", "{0}", workload);
            foreach (var c in Pods.Containers(workload.PodSpec))
            {
                var what = $"{workload}: container {c["name"]}";
                var security = c["securityContext"] as JsonObject;
                security.Should().NotBeNull(what);
                ((bool?)security!["privileged"]).Should().BeFalse(what);
                ((bool?)security["allowPrivilegeEscalation"]).Should().BeFalse(what);
                ((bool?)security["readOnlyRootFilesystem"]).Should().BeTrue(what);
                Pods.Strings(security["capabilities"]?["drop"]).Should().Equal(["ALL"], what);
                var added = Pods.Strings(security["capabilities"]?["add"]);
                var allowed = ((string?)c["name"], workload.Kind) switch
                {
                    ("agent", "DaemonSet") => docker ? ["NET_BIND_SERVICE"] : Array.Empty<string>(),
                    ("data-dir", _) => ["CHOWN", "DAC_READ_SEARCH"],
                    _ => [],
                };
                added.Should().BeEquivalentTo(allowed, what);
                c["resources"]?["limits"].Should().NotBeNull(what);
            }
        }

        var agent = Pods.Container(Agent(objects).PodSpec!, "agent");
        ((bool?)agent["securityContext"]!["runAsNonRoot"]).Should().Be(!docker,
            "the agent runs as root only for Docker Engine, where it binds 443 (Kubernetes gives added capabilities to root only)");
        var scheduler = objects.Single(o => o.Kind == "Deployment").PodSpec!;
        ((bool?)scheduler["securityContext"]!["runAsNonRoot"]).Should().BeTrue();
    }

    [Theory]
    [InlineData("defaults", new[] { "/etc/containerd/certs.d", "/etc/containerd/config.toml" })]
    [InlineData("k3s-values.yaml", new[] { "/var/lib/rancher/k3s/agent/etc/containerd/certs.d", "/var/lib/rancher/k3s/agent/etc/containerd/config.toml" })]
    [InlineData("rke2-values.yaml", new[] { "/var/lib/rancher/rke2/agent/etc/containerd/certs.d", "/var/lib/rancher/rke2/agent/etc/containerd/config.toml" })]
    [InlineData("edit-containerd-config-values.yaml", new[] { "/etc/containerd" })]
    [InlineData("crio-values.yaml", new[] { "/etc/containers/registries.conf.d" })]
    [InlineData("docker-only-values.yaml", new[] { "/etc/docker/certs.d", "/etc/hosts", "/var/lib/peeragent/docker-tls" })]
    [InlineData("docker-values.yaml", new[] { "/etc/containerd/certs.d", "/etc/containerd/config.toml", "/etc/docker/certs.d", "/etc/hosts", "/var/lib/peeragent/docker-tls" })]
    public async Task HostPaths_EnabledRuntimes_OnlyWhatThoseRuntimesNeed(string values, string[] runtimePaths)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var agent = Agent(objects).PodSpec!;
        var cleanup = Cleanup(objects).PodSpec!;

        Pods.HostPaths(agent).Keys.Should().BeEquivalentTo(
            ["/var/lib/peeragent/store", "/var/lib/peeragent/installer", .. runtimePaths]);
        Pods.HostPaths(cleanup).Keys.Should().BeEquivalentTo(
            ["/var/lib/peeragent/installer", .. runtimePaths], "uninstall needs the same runtime paths as install, and not the store");
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task InstallerContainers_EveryValueSet_MountEveryPathTheyAreGivenAndOnlyTheAgentReadsTheStore(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);
        var pod = Agent(objects).PodSpec!;
        var installers = Pods.Containers(pod).Where(c => ((string)c["name"]!).StartsWith("install-", StringComparison.Ordinal)).ToList();

        installers.Should().NotBeEmpty();
        foreach (var installer in installers)
        {
            var runtime = ((string)installer["name"]!)["install-".Length..];
            var args = Pods.Args(installer);
            Pods.Strings(installer["command"]).Should().Equal("dotnet", "/app/installer/PeerAgent.Installer.dll");
            args[0].Should().Be("install");
            Pods.Flag(args, "--root").Should().Be("/host");
            Pods.Flag(args, "--runtime").Should().Be(runtime);
            Pods.Flag(args, "--mirror-url").Should().Be("http://127.0.0.1:65001", "the agent's mirror on the node's loopback (hostNetwork)");
            Pods.Flags(args, "--registry").Should().NotBeEmpty();
            ((long?)installer["securityContext"]!["runAsUser"]).Should().Be(0, "it writes root's files under /etc");

            var given = PathFlags.Select(f => Pods.Flag(args, f)).OfType<string>().ToList();
            var mounted = Pods.Mounts(installer).Select(m => (string)m["mountPath"]!).ToList();
            foreach (var path in given)
            {
                mounted.Should().Contain(m => ("/host" + path + "/").StartsWith(m + "/", StringComparison.Ordinal),
                    "{0}: {1} must be reachable under --root /host", installer["name"], path);
            }

            var hostPaths = Pods.Mounts(installer).Select(m => (string?)Pods.Volume(pod, (string)m["name"]!)["hostPath"]?["path"]).OfType<string>().ToList();
            hostPaths.Should().OnlyContain(h => h == "/var/lib/peeragent/installer" || given.Any(g => (g + "/").StartsWith(h + "/", StringComparison.Ordinal)),
                "{0} mounts only the host paths it is told to work on (given: {1})", installer["name"], string.Join(", ", given));
        }

        Pods.Mounts(Pods.Container(pod, "agent")).Select(m => (string?)Pods.Volume(pod, (string)m["name"]!)["hostPath"]?["path"]).OfType<string>()
            .Should().BeSubsetOf(["/var/lib/peeragent/store", "/var/lib/peeragent/docker-tls"], "the agent itself touches no runtime configuration");
    }

    [Fact]
    public async Task InstallerContainers_Defaults_ReadContainerdConfigReadOnly()
    {
        var pod = Agent(await ChartValueSets.ObjectsAsync("defaults")).PodSpec!;
        var mount = Pods.Mounts(Pods.Container(pod, "install-containerd")).Single(m => (string?)m["mountPath"] == "/host/etc/containerd/config.toml");

        ((bool?)mount["readOnly"]).Should().BeTrue("config.toml is only read unless containerd.editConfig is set");
        ((string?)Pods.HostPaths(pod)["/etc/containerd/config.toml"]["hostPath"]!["type"]).Should().Be("File");
        Pods.Args(Pods.Container(pod, "install-containerd")).Should().NotContain("--edit-containerd-config");
    }

    [Fact]
    public async Task InstallerContainers_EditContainerdConfig_PassTheFlagAndMountTheConfigDirectoryWritable()
    {
        var pod = Agent(await ChartValueSets.ObjectsAsync("edit-containerd-config-values.yaml")).PodSpec!;
        var installer = Pods.Container(pod, "install-containerd");

        Pods.Args(installer).Should().Contain("--edit-containerd-config");
        var mount = Pods.Mounts(installer).Single(m => (string?)m["mountPath"] == "/host/etc/containerd");
        ((bool?)mount["readOnly"] ?? false).Should().BeFalse("the installer replaces config.toml through a temporary file beside it");
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task Rbac_EveryValueSet_ReadOnlyNodesAndEndpointSlicesForTheSchedulerAndATokenOnlyThere(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);

        foreach (var role in objects.Where(o => o.Kind is "Role" or "ClusterRole"))
        {
            foreach (var rule in Pods.Items(role.Json["rules"]))
            {
                Pods.Strings(rule["verbs"]).Should().BeSubsetOf(["get", "list", "watch"], "{0} is read-only", role);
            }
        }

        // The scheduler is the only reader of the API: one ClusterRole on nodes (its Node informer), bound to its
        // account, and one namespaced Role on endpointslices (its shard directory, ChartShardTests).
        objects.Where(o => o.Kind is "Role" or "RoleBinding").Select(o => o.ToString()).Should().BeEquivalentTo(
            [$"Role/{Fullname}-scheduler-endpointslices", $"RoleBinding/{Fullname}-scheduler-endpointslices"]);
        var clusterRole = objects.Single(o => o.Kind == "ClusterRole");
        clusterRole.Name.Should().Be($"{Fullname}-scheduler-nodes");
        var rules = Pods.Items(clusterRole.Json["rules"]).ToList();
        rules.Should().ContainSingle();
        Pods.Strings(rules[0]["apiGroups"]).Should().Equal("");
        Pods.Strings(rules[0]["resources"]).Should().Equal("nodes");
        Pods.Strings(rules[0]["verbs"]).Should().BeEquivalentTo(["get", "list", "watch"]);
        var binding = objects.Single(o => o.Kind == "ClusterRoleBinding");
        ((string?)binding.Json["roleRef"]!["name"]).Should().Be(clusterRole.Name);
        var subject = Pods.Items(binding.Json["subjects"]).Single();
        ((string?)subject["kind"]).Should().Be("ServiceAccount");
        ((string?)subject["name"]).Should().Be($"{Fullname}-scheduler");
        ((string?)subject["namespace"]).Should().Be(ChartValueSets.Namespace);

        foreach (var account in objects.Where(o => o.Kind == "ServiceAccount"))
        {
            ((bool?)account.Json["automountServiceAccountToken"]).Should().BeFalse("{0} hands out no token; the pod asks for one", account);
        }

        foreach (var workload in objects.Where(o => o.PodSpec is not null))
        {
            var wanted = workload.ToString() == $"Deployment/{Fullname}-scheduler";
            ((bool?)workload.PodSpec!["automountServiceAccountToken"]).Should().Be(wanted, "only the scheduler reads the API ({0})", workload);
        }

        var scheduler = Pods.Container(objects.Single(o => o.Kind == "Deployment").PodSpec!, "scheduler");
        Pods.Env(scheduler)["PEERAGENT_Kubernetes__Mode"].Should().Be("auto");
    }

    [Fact]
    public async Task Rbac_KubernetesDisabled_NoClusterRoleAndNoToken()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults", "--set", "scheduler.kubernetes.mode=disabled,scheduler.replicas=1");

        objects.Should().NotContain(o => o.Kind == "Role" || o.Kind == "ClusterRole" || o.Kind == "RoleBinding" || o.Kind == "ClusterRoleBinding",
            "with Kubernetes disabled nothing reads the API");
        var deployment = objects.Single(o => o.Kind == "Deployment");
        ((bool?)deployment.PodSpec!["automountServiceAccountToken"]).Should().BeFalse();
        Pods.Env(Pods.Container(deployment.PodSpec!, "scheduler"))["PEERAGENT_Kubernetes__Mode"].Should().Be("disabled");
    }

    [Fact]
    public async Task SchedulerDeployment_Defaults_TwoReplicasWithProbesAndADrainablePdb()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");
        var deployment = objects.Single(o => o.Kind == "Deployment");
        var container = Pods.Container(deployment.PodSpec!, "scheduler");

        ((long?)deployment.Json["spec"]!["replicas"]).Should().Be(2, "two shards by default, so losing one scheduler costs no swarm");
        Probe(container, "readinessProbe").Should().Be(("/readyz", 65005));
        Probe(container, "livenessProbe").Should().Be(("/healthz", 65005));
        var pdb = objects.Single(o => o.Kind == "PodDisruptionBudget");
        ((long?)pdb.Json["spec"]!["maxUnavailable"]).Should().Be(1, "a drain moves one scheduler at a time and never blocks");
        Selects(pdb.Json["spec"]!["selector"]!["matchLabels"]!.AsObject(), deployment).Should().BeTrue();

        var service = objects.Single(o => o.ToString() == $"Service/{Fullname}-scheduler");
        ((string?)service.Json["spec"]!["type"]).Should().Be("ClusterIP");
        Pods.Items(service.Json["spec"]!["ports"]).Select(p => ((string?)p["name"], (long?)p["port"])).Should().BeEquivalentTo(
            [("grpc", (long?)65004), ("metrics", (long?)65005)]);
        Selects(service.Json["spec"]!["selector"]!.AsObject(), deployment).Should().BeTrue();
    }

    [Fact]
    public async Task AgentService_Defaults_HeadlessOverTheAgentPodsMetricsPort()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");
        var service = objects.Single(o => o.ToString() == $"Service/{Fullname}-agent");

        ((string?)service.Json["spec"]!["clusterIP"]).Should().Be("None");
        Selects(service.Json["spec"]!["selector"]!.AsObject(), Agent(objects)).Should().BeTrue();
        Pods.Items(service.Json["spec"]!["ports"]).Should().ContainSingle(p => (string?)p["name"] == "metrics" && (long?)p["port"] == 65003);
    }

    internal static KubeObject Agent(IEnumerable<KubeObject> objects) => objects.Single(o => o.ToString() == $"DaemonSet/{Fullname}-agent");

    internal static KubeObject Cleanup(IEnumerable<KubeObject> objects) => objects.Single(o => o.ToString() == $"DaemonSet/{Fullname}-cleanup");

    /// <summary>True when every label of <paramref name="selector"/> is on the workload's pod template.</summary>
    internal static bool Selects(JsonObject selector, KubeObject workload)
    {
        var labels = workload.Json["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        return selector.Count > 0 && selector.All(s => (string?)labels[s.Key] == (string?)s.Value);
    }

    private static (string? Path, long? Port) Probe(JsonObject container, string probe)
    {
        var get = container[probe]?["httpGet"];
        var port = get?["port"];
        var number = port is JsonValue v && v.TryGetValue<long>(out var n)
            ? n
            : Pods.Items(container["ports"]).Where(p => (string?)p["name"] == (string?)port).Select(p => (long?)p["containerPort"]).SingleOrDefault();
        return ((string?)get?["path"], number);
    }
}
