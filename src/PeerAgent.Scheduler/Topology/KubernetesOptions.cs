namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// How the scheduler process reaches the Kubernetes API, for Node topology and for its sibling replicas (section
/// <c>Kubernetes</c>).
/// </summary>
internal sealed class KubernetesOptions
{
    public const string Section = "Kubernetes";

    public const string Auto = "auto";
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";

    /// <summary>The namespace outside a pod when <see cref="Namespace"/> is empty.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>
    /// <c>auto</c>: in-cluster configuration, else a kubeconfig, else none (agent-reported labels); <c>enabled</c>: one
    /// of the two must be found, else start-up fails; <c>disabled</c>: agent-reported labels only.
    /// </summary>
    public string Mode { get; set; } = Auto;

    /// <summary>A kubeconfig file; empty: <c>$KUBECONFIG</c>, then <c>~/.kube/config</c>.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>
    /// The Service whose EndpointSlices (label <c>kubernetes.io/service-name</c>) list the scheduler replicas that shard
    /// the blobs between them, by their port named <c>grpc</c>; empty: one replica, no sharding.
    /// </summary>
    public string? ShardService { get; set; }

    /// <summary>
    /// Where <see cref="ShardService"/> is; empty: the pod's own namespace (the service-account namespace file), else
    /// <c>default</c>. Filled in before validation, so the validated value is the one used.
    /// </summary>
    public string? Namespace { get; set; }
}
