using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// The offline schema validator the chart tests rely on: it accepts what a Kubernetes 1.30 cluster with cert-manager
/// and the Prometheus operator accepts, and for what it rejects it names the object and the field. If it let a
/// misspelt field or an unknown kind through, a green chart test would prove nothing.
/// </summary>
public sealed class KubernetesSchemaTests
{
    private const string DaemonSet = """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: peeragent-agent
          labels: {app.kubernetes.io/name: peeragent}
        spec:
          selector: {matchLabels: {app.kubernetes.io/component: agent}}
          updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 10%}}
          template:
            metadata: {labels: {app.kubernetes.io/component: agent}}
            spec:
              hostNetwork: true
              priorityClassName: system-node-critical
              tolerations: [{operator: Exists}]
              initContainers:
                - name: installer
                  image: peeragent/agent:0.1.0
                  command: [dotnet, /app/installer/PeerAgent.Installer.dll]
                  args: [install, --root, /host, --registry, _default]
                  volumeMounts: [{name: host-etc, mountPath: /host/etc/containerd}]
              containers:
                - name: agent
                  image: peeragent/agent:0.1.0
                  imagePullPolicy: IfNotPresent
                  ports: [{name: peer, containerPort: 65002}, {name: metrics, containerPort: 65003}]
                  env: [{name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
                  resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 512Mi}}
                  readinessProbe: {httpGet: {path: /readyz, port: metrics}}
                  livenessProbe: {httpGet: {path: /healthz, port: 65003}}
                  securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
              volumes:
                - name: host-etc
                  hostPath: {path: /etc/containerd, type: DirectoryOrCreate}
        """;

    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: peeragent-scheduler}
        spec:
          replicas: 1
          selector: {matchLabels: {app.kubernetes.io/component: scheduler}}
          template:
            metadata: {labels: {app.kubernetes.io/component: scheduler}}
            spec:
              containers:
                - name: scheduler
                  image: peeragent/scheduler:0.1.0
                  ports: [{name: grpc, containerPort: 65004}, {name: metrics, containerPort: 65005}]
        """;

    private const string Certificate = """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: peeragent-agent}
        spec:
          secretName: peeragent-agent-tls
          dnsNames: [peeragent-agent]
          usages: [server auth, client auth]
          issuerRef: {name: peeragent-ca, kind: Issuer}
        """;

    private const string ServiceMonitor = """
        apiVersion: monitoring.coreos.com/v1
        kind: ServiceMonitor
        metadata: {name: peeragent}
        spec:
          selector: {matchLabels: {app.kubernetes.io/name: peeragent}}
          endpoints: [{port: metrics, interval: 30s}]
        """;

    private const string PrometheusRule = """
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata: {name: peeragent}
        spec:
          groups:
            - name: peeragent
              rules:
                - alert: PeerAgentDown
                  expr: up{job="peeragent-agent"} == 0
                  for: 5m
                  labels: {severity: critical}
                  annotations: {summary: An agent is down}
        """;

    [Fact]
    public async Task ValidateAsync_ValidObjectsOfEveryFamily_PassesAndCountsThem()
    {
        // Empty documents are what a template that rendered nothing leaves behind; they are not objects.
        var yaml = Join(DaemonSet, "# Source: peeragent/templates/empty.yaml", Deployment, Certificate, ServiceMonitor, PrometheusRule);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().BeEmpty();
        result.IsValid.Should().BeTrue();
        result.Objects.Should().Be(5);
    }

    [Fact]
    public async Task ValidateAsync_MisspelledField_FailsNamingObjectAndField()
    {
        var yaml = Join(DaemonSet.Replace("imagePullPolicy:", "imagePullPolcy:", StringComparison.Ordinal), Deployment);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.IsValid.Should().BeFalse();
        result.Objects.Should().Be(2);
        result.Errors.Should().ContainSingle().Which.Should().Be(
            "DaemonSet/peeragent-agent: spec.template.spec.containers[0].imagePullPolcy: unknown field \"imagePullPolcy\"");
    }

    [Fact]
    public async Task ValidateAsync_MisspelledFieldInCustomResource_FailsNamingObjectAndField()
    {
        var yaml = Join(ServiceMonitor.Replace("interval:", "intervall:", StringComparison.Ordinal), PrometheusRule);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().ContainSingle().Which.Should().Be(
            "ServiceMonitor/peeragent: spec.endpoints[0].intervall: unknown field \"intervall\"");
    }

    [Fact]
    public async Task ValidateAsync_WrongType_FailsNamingObjectAndField()
    {
        var yaml = Join(DaemonSet, Deployment.Replace("containerPort: 65004", "containerPort: \"65004\"", StringComparison.Ordinal));

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().ContainSingle().Which.Should().Be(
            "Deployment/peeragent-scheduler: spec.template.spec.containers[0].ports[0].containerPort: must be integer");
    }

    [Fact]
    public async Task ValidateAsync_UnquotedYesAsLabelValue_FailsAsOnACluster()
    {
        // Kubernetes reads YAML 1.1: `yes` is a boolean, and label values must be strings.
        var yaml = ServiceMonitor.Replace("metadata: {name: peeragent}", "metadata: {name: peeragent, labels: {release: yes}}", StringComparison.Ordinal);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().ContainSingle().Which.Should().Be("ServiceMonitor/peeragent: metadata.labels.release: must be string");
    }

    [Fact]
    public async Task ValidateAsync_MissingRequiredField_FailsNamingObjectAndField()
    {
        var yaml = Join(Certificate.Replace("  secretName: peeragent-agent-tls\n", string.Empty, StringComparison.Ordinal), DaemonSet);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().ContainSingle().Which.Should().Be("Certificate/peeragent-agent: spec.secretName: required field missing");
    }

    [Fact]
    public async Task ValidateAsync_UnknownKind_FailsNamingObject()
    {
        var yaml = Join(Deployment.Replace("kind: Deployment", "kind: Deploymnet", StringComparison.Ordinal), Certificate);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Objects.Should().Be(2);
        result.Errors.Should().ContainSingle().Which.Should().Be("Deploymnet/peeragent-scheduler: kind Deploymnet: unknown in apps/v1");
    }

    [Theory]
    [InlineData("example.com/v1", "Widget")]
    [InlineData("policy/v1beta1", "PodDisruptionBudget")] // removed in Kubernetes 1.25
    [InlineData("monitoring.coreos.com/v1alpha1", "ServiceMonitor")]
    public async Task ValidateAsync_ApiVersionNotServed_FailsNamingObject(string apiVersion, string kind)
    {
        var yaml = $"apiVersion: {apiVersion}\nkind: {kind}\nmetadata: {{name: x}}\nspec: {{}}\n";

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Objects.Should().Be(1);
        result.Errors.Should().ContainSingle().Which.Should().StartWith($"{kind}/x: apiVersion {apiVersion}: unknown");
    }

    [Fact]
    public async Task ValidateAsync_NoObjects_Fails()
    {
        var result = await KubernetesSchema.ValidateAsync("---\n# nothing rendered\n---\n");

        result.Objects.Should().Be(0);
        result.IsValid.Should().BeFalse("a render that produced nothing is a broken render");
    }

    private static string Join(params string[] documents) => "---\n" + string.Join("\n---\n", documents) + "\n";
}
