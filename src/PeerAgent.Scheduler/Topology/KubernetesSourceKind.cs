namespace PeerAgent.Scheduler.Topology;

/// <summary>Where the Kubernetes API configuration came from.</summary>
internal enum KubernetesSourceKind
{
    /// <summary>No Kubernetes: agent-reported labels.</summary>
    None,

    /// <summary>The pod's service account.</summary>
    InCluster,

    /// <summary>A kubeconfig file.</summary>
    Kubeconfig,
}
