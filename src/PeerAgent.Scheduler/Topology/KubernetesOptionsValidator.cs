using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// Checks <see cref="KubernetesOptions"/> and, unless disabled, that the configuration they lead to loads; with
/// <c>enabled</c>, or with a shard Service, that there is one, naming everything that was looked for.
/// </summary>
internal sealed class KubernetesOptionsValidator(KubernetesEnvironment environment) : OptionsValidator<KubernetesOptions>
{
    private const string S = KubernetesOptions.Section;

    protected override void Validate(KubernetesOptions options, ICollection<string> errors)
    {
        var sharded = !string.IsNullOrEmpty(options.ShardService);
        if (sharded && !IsLabel(options.ShardService!, startsWithLetter: true))
        {
            errors.Add($"{S}:ShardService '{options.ShardService}' is not a Service name (a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
                + "starting with a letter and ending with a letter or digit).");
        }

        if (!string.IsNullOrEmpty(options.Namespace) && !IsLabel(options.Namespace, startsWithLetter: false))
        {
            errors.Add($"{S}:Namespace '{options.Namespace}' is not a namespace name (a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
                + "starting and ending with a letter or digit).");
        }

        var mode = options.Mode;
        if (!string.Equals(mode, KubernetesOptions.Auto, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(mode, KubernetesOptions.Enabled, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(mode, KubernetesOptions.Disabled, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{S}:Mode '{mode}' is not one of auto, enabled, disabled.");
            return;
        }

        if (string.Equals(mode, KubernetesOptions.Disabled, StringComparison.OrdinalIgnoreCase))
        {
            if (sharded)
            {
                errors.Add($"{S}:ShardService '{options.ShardService}' needs the Kubernetes API, but {S}:Mode is disabled: the scheduler replicas "
                    + $"could not find each other. Set {S}:Mode to auto or enabled, or leave {S}:ShardService empty for a single replica.");
            }

            return;
        }

        var source = KubernetesSource.Find(options, environment);
        if (source.Kind == KubernetesSourceKind.None)
        {
            if (!string.IsNullOrEmpty(options.Kubeconfig))
            {
                errors.Add($"{S}:Kubeconfig '{options.Kubeconfig}' does not exist.");
            }
            else if (string.Equals(mode, KubernetesOptions.Enabled, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{S}:Mode is enabled, but no Kubernetes API configuration was found ({source.Description}); "
                    + $"run in a pod with a service account token, or set {S}:Kubeconfig, or set {S}:Mode=auto to use the agents' own labels.");
            }
            else if (sharded)
            {
                errors.Add($"{S}:ShardService '{options.ShardService}' is set, but no Kubernetes API configuration was found ({source.Description}): "
                    + $"the scheduler replicas could not find each other. Run in a pod with a service account token, or set {S}:Kubeconfig, "
                    + $"or leave {S}:ShardService empty for a single replica.");
            }

            return;
        }

        if (!source.TryCreateConfiguration(out _, out var error))
        {
            errors.Add($"{S}:Mode {mode}: {error}");
        }
    }

    /// <summary>A DNS label as Kubernetes names Services (RFC 1035: starts with a letter) and namespaces (RFC 1123).</summary>
    private static bool IsLabel(string value, bool startsWithLetter)
    {
        if (value.Length is 0 or > 63 || value[0] == '-' || value[^1] == '-' || (startsWithLetter && !char.IsAsciiLetterLower(value[0])))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
