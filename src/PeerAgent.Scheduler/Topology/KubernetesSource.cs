using k8s;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Which Kubernetes API configuration the scheduler uses, found once at start from <see cref="KubernetesOptions"/>.</summary>
internal sealed class KubernetesSource
{
    private KubernetesSource(KubernetesSourceKind kind, string description, string? path = null)
    {
        Kind = kind;
        Description = description;
        Path = path;
    }

    public KubernetesSourceKind Kind { get; }

    /// <summary>For logs: what was found, or everything that was looked for when nothing was.</summary>
    public string Description { get; }

    /// <summary>The kubeconfig file when <see cref="Kind"/> is <see cref="KubernetesSourceKind.Kubeconfig"/>.</summary>
    public string? Path { get; }

    /// <summary>
    /// In-cluster configuration when <c>KUBERNETES_SERVICE_HOST</c> is set and the service-account token exists, else the
    /// first kubeconfig of <c>Kubernetes:Kubeconfig</c>, <c>$KUBECONFIG</c> (its first file) and <c>~/.kube/config</c>
    /// that exists, else none. <c>disabled</c> is always none. An explicit <c>Kubernetes:Kubeconfig</c> wins over in-cluster.
    /// </summary>
    public static KubernetesSource Find(KubernetesOptions options, KubernetesEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        if (string.Equals(options.Mode, KubernetesOptions.Disabled, StringComparison.OrdinalIgnoreCase))
        {
            return new KubernetesSource(KubernetesSourceKind.None, "Kubernetes:Mode is disabled");
        }

        if (!string.IsNullOrEmpty(options.Kubeconfig))
        {
            return environment.FileExists(options.Kubeconfig)
                ? new KubernetesSource(KubernetesSourceKind.Kubeconfig, $"kubeconfig {options.Kubeconfig} (Kubernetes:Kubeconfig)", options.Kubeconfig)
                : new KubernetesSource(KubernetesSourceKind.None, $"Kubernetes:Kubeconfig {options.Kubeconfig} does not exist");
        }

        var lookedFor = new List<string>(4);
        var serviceHost = environment.GetVariable("KUBERNETES_SERVICE_HOST");
        var token = System.IO.Path.Combine(environment.ServiceAccountDirectory, "token");
        if (string.IsNullOrEmpty(serviceHost))
        {
            lookedFor.Add("in-cluster: KUBERNETES_SERVICE_HOST is not set");
        }
        else if (!environment.FileExists(token))
        {
            lookedFor.Add($"in-cluster: KUBERNETES_SERVICE_HOST is set but {token} does not exist (automountServiceAccountToken?)");
        }
        else
        {
            return new KubernetesSource(KubernetesSourceKind.InCluster, $"in-cluster service account ({token})");
        }

        lookedFor.Add("Kubernetes:Kubeconfig is not set");
        var fromVariable = environment.GetVariable("KUBECONFIG");
        if (string.IsNullOrEmpty(fromVariable))
        {
            lookedFor.Add("$KUBECONFIG is not set");
        }
        else
        {
            // kubectl merges a list; the first file that exists is enough for the cluster we talk to.
            foreach (var file in fromVariable.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (environment.FileExists(file))
                {
                    return new KubernetesSource(KubernetesSourceKind.Kubeconfig, $"kubeconfig {file} ($KUBECONFIG)", file);
                }
            }

            lookedFor.Add($"$KUBECONFIG ({fromVariable}) names no file that exists");
        }

        var home = System.IO.Path.Combine(environment.HomeDirectory, ".kube", "config");
        if (environment.FileExists(home))
        {
            return new KubernetesSource(KubernetesSourceKind.Kubeconfig, $"kubeconfig {home}", home);
        }

        lookedFor.Add($"{home} does not exist");
        return new KubernetesSource(KubernetesSourceKind.None, string.Join("; ", lookedFor));
    }

    /// <summary>Builds the client configuration; false with the reason when the files do not load.</summary>
    public bool TryCreateConfiguration(out KubernetesClientConfiguration? configuration, out string? error)
    {
        configuration = null;
        error = null;
        try
        {
            configuration = Kind switch
            {
                KubernetesSourceKind.InCluster => KubernetesClientConfiguration.InClusterConfig(),
                KubernetesSourceKind.Kubeconfig => KubernetesClientConfiguration.BuildConfigFromConfigFile(Path),
                _ => null,
            };
            return configuration is not null;
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or YamlDotNet.Core.YamlException)
        {
            error = $"{Description} could not be loaded: {ex.Message}";
            return false;
        }
    }
}
