using System.Diagnostics;

namespace PeerAgent.Testing;

/// <summary>What one helm-template run printed and how it ended.</summary>
public sealed record HelmTemplateResult(string CommandLine, int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{CommandLine}` exited {ExitCode}:\n{Error}";
}

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
    public static async Task<HelmTemplateResult> RunAsync(IEnumerable<string> args)
    {
        // Through bash: the tool is a bash wrapper, and a copy of shared/ may have lost its execute bits.
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Executable);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var commandLine = $"{Executable} {string.Join(' ', start.ArgumentList)}";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {commandLine}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{commandLine}` did not finish within {Timeout.TotalMinutes:F0} minutes.");
        }

        return new HelmTemplateResult(commandLine, process.ExitCode, await output, await error);
    }

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
