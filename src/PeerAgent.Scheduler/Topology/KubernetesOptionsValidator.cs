using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// Checks <see cref="KubernetesOptions"/> and, unless disabled, that the configuration they lead to loads; with
/// <c>enabled</c>, that there is one, naming everything that was looked for.
/// </summary>
internal sealed class KubernetesOptionsValidator(KubernetesEnvironment environment) : OptionsValidator<KubernetesOptions>
{
    private const string S = KubernetesOptions.Section;

    protected override void Validate(KubernetesOptions options, ICollection<string> errors)
    {
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

            return;
        }

        if (!source.TryCreateConfiguration(out _, out var error))
        {
            errors.Add($"{S}:Mode {mode}: {error}");
        }
    }
}
