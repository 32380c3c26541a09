namespace PeerAgent.Testing;

/// <summary>
/// Renders Helm charts with the offline helm-template tool (there is no helm binary here). It lives next to the
/// repository, at <c>../shared/tools/helm-template/helm-template</c> (looked for above every parent directory of
/// the repository, so git worktrees find it too), or wherever <c>PEERAGENT_HELM_TEMPLATE</c> says.
/// </summary>
public static class HelmTemplate
{
    // The first run builds the tool with Debian's Go (30-40 s on an idle machine); later runs take milliseconds.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>The helm-template wrapper script; throws naming where it looked when there is none.</summary>
    public static string Executable { get; } = Find();

    /// <summary>The chart of this repository.</summary>
    public static string Chart => Path.Combine(RepoPaths.Root, "charts", "peeragent");

    /// <summary>Runs helm-template with <paramref name="args"/> and returns the multi-document YAML; throws with its stderr unless it exits 0.</summary>
    public static async Task<string> RenderAsync(IEnumerable<string> args)
    {
        var result = await RunAsync(args);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(result.ToString());
        }

        return result.Output;
    }

    /// <summary>Runs helm-template with <paramref name="args"/> to completion, whatever its exit code.</summary>
    /// <remarks>Through bash: the tool is a bash wrapper, and a copy of shared/ may have lost its execute bits.</remarks>
    public static Task<ToolResult> RunAsync(IEnumerable<string> args) => ProcessRunner.RunToolAsync("bash", [Executable, .. args], Timeout);

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("PEERAGENT_HELM_TEMPLATE") is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"PEERAGENT_HELM_TEMPLATE={configured} does not exist.");
        }

        var looked = new List<string>();
        for (var dir = Directory.GetParent(RepoPaths.Root); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "tools", "helm-template", "helm-template");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            looked.Add(candidate);
        }

        throw new InvalidOperationException(
            $"helm-template not found (looked at {string.Join(", ", looked)}); set PEERAGENT_HELM_TEMPLATE to its path.");
    }
}
