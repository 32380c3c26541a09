using System.Globalization;

namespace PeerAgent.Testing;

/// <summary>How to start a <see cref="SchedulerProcess"/>.</summary>
public sealed class SchedulerProcessOptions
{
    /// <summary>Scheduler:HostExpiry: hosts silent for this long are dropped (null: the scheduler's default).</summary>
    public TimeSpan? HostExpiry { get; init; }

    /// <summary>Appended after the generated arguments, e.g. "--Scheduler:ParentFailureLimit=3".</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>The scheduler's Tls:* files; null: a certificate of <see cref="TestCertificates.Shared"/>.</summary>
    public TlsFilePaths? Tls { get; init; }
}

/// <summary>
/// The real scheduler host (src/PeerAgent.Scheduler, built in the same configuration as the tests) as a child
/// process: its gRPC service on one free loopback port, metrics and /readyz on another.
/// </summary>
public sealed class SchedulerProcess : IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly SchedulerProcessOptions _options;
    private readonly TempDir _dir;
    private TestProcess? _process;

    private SchedulerProcess(SchedulerProcessOptions options, TempDir dir)
    {
        _options = options;
        _dir = dir;
        Port = FreePort.Get();
        MetricsPort = FreePort.Get();
        Tls = options.Tls ?? TestCertificates.Shared.Issue("scheduler");
    }

    public int Port { get; }

    public int MetricsPort { get; }

    /// <summary>"https://127.0.0.1:P": Scheduler:ListenUrl here, Scheduler:Address for the agents (mutual TLS).</summary>
    public string Address => $"https://127.0.0.1:{Port}";

    /// <summary>The Tls:* files the scheduler runs with.</summary>
    public TlsFilePaths Tls { get; }

    public string MetricsUrl => $"http://127.0.0.1:{MetricsPort}";

    public TestProcess Process => _process ?? throw new InvalidOperationException("Not started.");

    public bool IsRunning => _process is { HasExited: false };

    public IReadOnlyList<string> Logs => _process?.Lines ?? [];

    public string LogText => string.Join('\n', Logs);

    /// <summary>Error and critical log entries (see <see cref="LogEntries.Errors"/>).</summary>
    public IReadOnlyList<string> ErrorLines => LogEntries.Errors(Logs);

    /// <summary>Starts a scheduler and waits until /readyz on its metrics port answers 200.</summary>
    public static async Task<SchedulerProcess> StartAsync(SchedulerProcessOptions? options = null)
    {
        var scheduler = new SchedulerProcess(options ?? new SchedulerProcessOptions(), new TempDir("scheduler"));
        try
        {
            await scheduler.StartCoreAsync();
            return scheduler;
        }
        catch
        {
            scheduler.Dispose();
            throw;
        }
    }

    /// <summary>The command-line arguments the scheduler is started with.</summary>
    public IReadOnlyList<string> BuildArguments()
    {
        var args = new List<string>
        {
            RepoPaths.SchedulerDll,
            $"--Scheduler:ListenUrl={Address}",
            $"--Metrics:ListenUrl={MetricsUrl}",
        };
        args.AddRange(Tls.Arguments);
        if (_options.HostExpiry is { } expiry)
        {
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--Scheduler:HostExpiry={expiry:c}"));
        }

        args.AddRange(_options.ExtraArgs);
        return args;
    }

    /// <summary>SIGKILL, as in a crash.</summary>
    public void KillHard() => _process?.Kill(entireProcessTree: true);

    /// <summary>Kills the scheduler and starts a new one on the same ports: all its soft state is gone.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
            _process.Dispose();
            _process = null;
        }

        await StartCoreAsync();
    }

    public Task<PrometheusMetrics> GetMetricsAsync() => OperationsProbe.GetMetricsAsync(MetricsUrl);

    public void Dispose()
    {
        _process?.Dispose();
        _dir.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task StartCoreAsync()
    {
        if (!File.Exists(RepoPaths.SchedulerDll))
        {
            throw new FileNotFoundException($"The scheduler is not built for {RepoPaths.Configuration}: build the solution first.", RepoPaths.SchedulerDll);
        }

        var process = TestProcess.Start(RepoPaths.DotnetHost, BuildArguments(), new TestProcessOptions
        {
            Name = "scheduler",
            WorkingDirectory = _dir.Path,
            Environment = LogEntries.DotnetEnvironment(),
        });
        _process = process;

        await OperationsProbe.WaitUntilReadyAsync(process, MetricsUrl, "scheduler", ReadyTimeout);
    }
}
