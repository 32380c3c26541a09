namespace PeerAgent.Testing;

/// <summary>The outcome of a process run to completion.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, string Output, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{CommandLine}` exited {ExitCode} after {Elapsed.TotalSeconds:F1}s:\n{Output}";
}

/// <summary>A tool run to completion whose standard output is data (YAML, a report), kept apart from its standard error.</summary>
public sealed record ToolResult(string CommandLine, int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{CommandLine}` exited {ExitCode}:\n{Error}";
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

    /// <summary>
    /// Runs a tool whose standard output is data (helm-template, kubectl kustomize, the schema validator): stdout
    /// and stderr apart, so a warning never ends up in the data. Writes <paramref name="input"/> to its stdin when
    /// given. On timeout kills it and throws; never throws for a non-zero exit.
    /// </summary>
    public static async Task<ToolResult> RunToolAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? input = null,
        string? workingDirectory = null)
    {
        var start = new System.Diagnostics.ProcessStartInfo(fileName)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var commandLine = $"{fileName} {string.Join(' ', start.ArgumentList)}";
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"cannot start {commandLine}");
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = process.StandardError.ReadToEndAsync(deadline.Token);
            if (input is not null)
            {
                try
                {
                    await process.StandardInput.WriteAsync(input.AsMemory(), deadline.Token);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // It exited before reading everything: its exit code and output say why.
                }
            }

            await process.WaitForExitAsync(deadline.Token);
            return new ToolResult(commandLine, process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{commandLine}` did not finish within {timeout.TotalSeconds:F0}s.");
        }
    }
}
