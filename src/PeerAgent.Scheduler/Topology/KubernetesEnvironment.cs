namespace PeerAgent.Scheduler.Topology;

/// <summary>The parts of the machine that tell where a Kubernetes API is; tests bring their own.</summary>
internal sealed class KubernetesEnvironment
{
    public const string DefaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public static KubernetesEnvironment System { get; } = new();

    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Where a pod's service-account token and CA are mounted.</summary>
    public string ServiceAccountDirectory { get; init; } = DefaultServiceAccountDirectory;

    public string HomeDirectory { get; init; } = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public Func<string, bool> FileExists { get; init; } = File.Exists;

    public Func<string, string> ReadAllText { get; init; } = File.ReadAllText;

    /// <summary>The pod's namespace from its service-account mount, or null outside a pod (or when it cannot be read).</summary>
    public string? PodNamespace()
    {
        var file = Path.Combine(ServiceAccountDirectory, "namespace");
        if (!FileExists(file))
        {
            return null;
        }

        try
        {
            var value = ReadAllText(file).Trim();
            return value.Length == 0 ? null : value;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
