using System.Diagnostics;
using System.Text;

namespace PeerAgent.Testing;

/// <summary>Options for starting a <see cref="TestProcess"/>.</summary>
public sealed class TestProcessOptions
{
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables to set (a null value removes the variable).</summary>
    public IDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Called for every captured line, from a thread-pool thread.</summary>
    public Action<string, bool>? OnLine { get; init; }

    /// <summary>Short name used in messages, e.g. "registry".</summary>
    public string? Name { get; init; }
}

/// <summary>A child process whose stdout and stderr are captured line by line. Dispose always kills it.</summary>
public sealed class TestProcess : IDisposable
{
    // Proxy variables would route loopback traffic elsewhere in some tools; tests only talk to 127.0.0.1.
    private static readonly string[] StrippedVariables =
    [
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
        "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS",
    ];

    private readonly Process _process;
    private readonly List<OutputLine> _lines = [];
    private readonly Lock _gate = new();
    private readonly Action<string, bool>? _onLine;
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private TestProcess(Process process, Action<string, bool>? onLine, string name)
    {
        _process = process;
        _onLine = onLine;
        Name = name;
    }

    public string Name { get; }

    public int Id { get; private set; }

    public string CommandLine => $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}";

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    public int? ExitCode => HasExited ? _process.ExitCode : null;

    /// <summary>All captured lines so far, stdout and stderr interleaved in arrival order.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.ConvertAll(l => l.Text);
            }
        }
    }

    public IReadOnlyList<OutputLine> OutputLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                var sb = new StringBuilder();
                foreach (var line in _lines)
                {
                    sb.Append(line.Text).Append('\n');
                }

                return sb.ToString();
            }
        }
    }

    /// <summary>The last <paramref name="count"/> lines, for failure messages.</summary>
    public string Tail(int count = 60)
    {
        lock (_gate)
        {
            var start = Math.Max(0, _lines.Count - count);
            var sb = new StringBuilder();
            for (var i = start; i < _lines.Count; i++)
            {
                sb.Append(_lines[i].Text).Append('\n');
            }

            return sb.ToString();
        }
    }

    public static TestProcess Start(string fileName, IEnumerable<string> arguments, TestProcessOptions? options = null)
    {
        options ??= new TestProcessOptions();
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? string.Empty,
        };
        foreach (var arg in arguments)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var variable in StrippedVariables)
        {
            psi.Environment.Remove(variable);
        }

        foreach (var (key, value) in options.Environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var result = new TestProcess(process, options.OnLine, options.Name ?? Path.GetFileName(fileName));
        process.OutputDataReceived += (_, e) => result.OnData(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => result.OnData(e.Data, isError: true);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        result.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Waits for the process to exit and for its output to be drained. Returns false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        // The pipes can close a moment after exit; do not wait forever for a grandchild holding them.
        await Task.WhenAny(Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task), Task.Delay(TimeSpan.FromSeconds(2)));
        return true;
    }

    /// <summary>Sends SIGKILL to the process (and optionally its descendants) and waits for it to go.</summary>
    public void Kill(bool entireProcessTree = true)
    {
        try
        {
            if (!_process.HasExited)
            {
                // On Linux Process.Kill sends SIGKILL: no shutdown hooks run, as in a crash.
                _process.Kill(entireProcessTree);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Raced with exit.
        }

        try
        {
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Sends a signal (e.g. 15 for SIGTERM) with /bin/kill.</summary>
    public void Signal(int signal)
    {
        if (HasExited)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {Id}") { UseShellExecute = false });
        kill?.WaitForExit(5_000);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill(entireProcessTree: true);
        _process.Dispose();
    }

    private void OnData(string? data, bool isError)
    {
        if (data is null)
        {
            (isError ? _stderrClosed : _stdoutClosed).TrySetResult();
            return;
        }

        lock (_gate)
        {
            _lines.Add(new OutputLine(data, isError));
        }

        try
        {
            _onLine?.Invoke(data, isError);
        }
        catch (Exception)
        {
            // A buggy callback must not kill the reader thread (and the process would block on a full pipe).
        }
    }
}

/// <summary>One captured output line.</summary>
public readonly record struct OutputLine(string Text, bool IsError);
