namespace PeerAgent.Testing;

/// <summary>The outcome of a process run to completion.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, string Output, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{CommandLine}` exited {ExitCode} after {Elapsed.TotalSeconds:F1}s:\n{Output}";
}

/// <summary>Runs short-lived tools (skopeo, ctr, htpasswd) to completion with a deadline.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Runs <paramref name="fileName"/>; on timeout kills it and throws. Throws on a non-zero exit if <paramref name="check"/>.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        bool check = true,
        TestProcessOptions? options = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var process = TestProcess.Start(fileName, arguments, options);
        if (!await process.WaitForExitAsync(limit))
        {
            process.Kill();
            throw new TimeoutException($"`{process.CommandLine}` did not finish within {limit.TotalSeconds:F0}s. Output:\n{process.Output}");
        }

        var result = new ProcessResult(process.CommandLine, process.ExitCode ?? -1, process.Output, started.Elapsed);
        if (check && !result.Succeeded)
        {
            throw new InvalidOperationException(result.ToString());
        }

        return result;
    }

    public static Task<ProcessResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(fileName, arguments, timeout: null);
}
