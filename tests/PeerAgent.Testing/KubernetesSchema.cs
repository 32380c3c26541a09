using System.Globalization;
using System.Text.RegularExpressions;

namespace PeerAgent.Testing;

/// <summary>
/// Validates multi-document Kubernetes YAML against the API schemas offline, with tests/k8s-schema/validate.mjs:
/// Kubernetes 1.30 kinds plus cert-manager.io/v1 and monitoring.coreos.com/v1; unknown fields, wrong types, missing
/// required fields and unknown kinds are all errors. Needs node and the packages scripts/install-deps.sh installs.
/// </summary>
public static partial class KubernetesSchema
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The validator's directory, tests/k8s-schema in the repository.</summary>
    public static string ValidatorDirectory => Path.Combine(RepoPaths.Root, "tests", "k8s-schema");

    /// <summary>Validates every object in <paramref name="multiDocumentYaml"/>; throws if the validator cannot run.</summary>
    public static async Task<KubernetesSchemaResult> ValidateAsync(string multiDocumentYaml)
    {
        ArgumentNullException.ThrowIfNull(multiDocumentYaml);
        var script = Path.Combine(ValidatorDirectory, "validate.mjs");
        if (!Directory.Exists(Path.Combine(ValidatorDirectory, "node_modules")))
        {
            throw new InvalidOperationException($"{ValidatorDirectory}/node_modules is missing: run scripts/install-deps.sh (it runs npm ci there).");
        }

        var run = await ProcessRunner.RunToolAsync("node", [script], Timeout, input: multiDocumentYaml, workingDirectory: ValidatorDirectory);
        return Parse(run.ExitCode, run.Output, run.Error);
    }

    private static KubernetesSchemaResult Parse(int exitCode, string stdout, string stderr)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var summary = lines.Length > 0 ? Summary().Match(lines[^1]) : Match.Empty;
        if (exitCode is not (0 or 1) || !summary.Success)
        {
            throw new InvalidOperationException($"validate.mjs exited {exitCode} without a result:\n{stdout}{stderr}");
        }

        var errors = lines[..^1];
        var reported = int.Parse(summary.Groups["errors"].Value, CultureInfo.InvariantCulture);
        if (reported != errors.Length || (exitCode == 0) != (errors.Length == 0))
        {
            throw new InvalidOperationException($"validate.mjs exited {exitCode} and reported {reported} errors but printed {errors.Length}:\n{stdout}{stderr}");
        }

        return new KubernetesSchemaResult(int.Parse(summary.Groups["objects"].Value, CultureInfo.InvariantCulture), errors);
    }

    [GeneratedRegex(@"^objects: (?<objects>\d+), errors: (?<errors>\d+)$")]
    private static partial Regex Summary();
}
