namespace PeerAgent.Scheduler.Topology;

/// <summary>How the scheduler process reaches the Kubernetes API for Node topology (section <c>Kubernetes</c>).</summary>
internal sealed class KubernetesOptions
{
    public const string Section = "Kubernetes";

    public const string Auto = "auto";
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";

    /// <summary>
    /// <c>auto</c>: in-cluster configuration, else a kubeconfig, else none (agent-reported labels); <c>enabled</c>: one
    /// of the two must be found, else start-up fails; <c>disabled</c>: agent-reported labels only.
    /// </summary>
    public string Mode { get; set; } = Auto;

    /// <summary>A kubeconfig file; empty: <c>$KUBECONFIG</c>, then <c>~/.kube/config</c>.</summary>
    public string? Kubeconfig { get; set; }
}
