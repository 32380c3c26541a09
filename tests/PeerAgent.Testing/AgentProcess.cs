using System.Globalization;

namespace PeerAgent.Testing;

/// <summary>One upstream registry entry of the agent's configuration (<c>Registries:N:*</c>).</summary>
/// <param name="Host">The registry host as clients name it, "127.0.0.1:PORT".</param>
/// <param name="Endpoint">Where the agent really connects for this host, e.g. a <see cref="FaultyProxy"/> URL.</param>
public sealed record AgentRegistry(string Host, bool PlainHttp = true, bool Public = false, string? Endpoint = null);

/// <summary>How to start an <see cref="AgentProcess"/>.</summary>
public sealed class AgentOptions
{
    /// <summary>Mirror:DefaultRegistry, used when a request carries no ns query (skopeo, podman).</summary>
    public required string DefaultRegistry { get; init; }

    public IReadOnlyList<AgentRegistry> Registries { get; init; } = [];

    public long QuotaBytes { get; init; } = 4L << 30;

    /// <summary>Appended after the generated arguments, e.g. "--Logging:LogLevel:Default=Debug".</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>Scheduler:Address, e.g. a <see cref="SchedulerProcess.Address"/>; null runs the scheduler in-process (one node).</summary>
    public string? SchedulerAddress { get; init; }

    /// <summary>Node:Name; give each agent of a cluster its own.</summary>
    public string? NodeName { get; init; }

    /// <summary>Node:Zone (topology.kubernetes.io/zone).</summary>
    public string? Zone { get; init; }

    /// <summary>Node:Region (topology.kubernetes.io/region).</summary>
    public string? Region { get; init; }

    /// <summary>Peer:StallTimeout: no piece from peers for this long and the agent falls back to the origin.</summary>
    public TimeSpan? PeerStallTimeout { get; init; }

    /// <summary>The agent's Tls:* files; null: a certificate of <see cref="TestCertificates.Shared"/>, so agents started alone trust each other.</summary>
    public TlsFilePaths? Tls { get; init; }

    /// <summary>Tls:AllowInsecure=true: plaintext h2c on the peer port, no certificate (<see cref="Tls"/> is ignored).</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>An agent for one origin; <paramref name="endpoint"/> puts e.g. a proxy between agent and origin.</summary>
    public static AgentOptions ForOrigin(RegistryProcess origin, bool isPublic = true, string? endpoint = null, long? quotaBytes = null) => new()
    {
        DefaultRegistry = origin.Endpoint,
        Registries = [new AgentRegistry(origin.Endpoint, PlainHttp: true, Public: isPublic, Endpoint: endpoint)],
        QuotaBytes = quotaBytes ?? 4L << 30,
    };
}

/// <summary>
/// The real agent (src/PeerAgent.Agent, built in the same configuration as the tests) as a child process.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly AgentOptions _options;
    private readonly TempDir _dir;
    private readonly List<string> _previousRuns = [];
    private TestProcess? _process;

    private AgentProcess(AgentOptions options, TempDir dir)
    {
        _options = options;
        _dir = dir;
        MirrorPort = FreePort.Get();
        MetricsPort = FreePort.Get();
        PeerPort = FreePort.Get();
        DataDir = dir.Sub("data");
        Tls = options.AllowInsecure ? null : options.Tls ?? TestCertificates.Shared.Issue(options.NodeName is { Length: > 0 } node ? node : "agent");
    }

    public int MirrorPort { get; }

    public int MetricsPort { get; }

    /// <summary>The peer gRPC listener's port; always on 127.0.0.1, so no test binds the default 0.0.0.0:65002.</summary>
    public int PeerPort { get; }

    /// <summary>"https://127.0.0.1:P": Peer:ListenUrl and Peer:AdvertiseUrl, the address other agents dial (mutual TLS; http:// when insecure).</summary>
    public string PeerUrl => $"{(Tls is null ? "http" : "https")}://127.0.0.1:{PeerPort}";

    /// <summary>The Tls:* files the agent runs with; null with <see cref="AgentOptions.AllowInsecure"/>.</summary>
    public TlsFilePaths? Tls { get; }

    /// <summary>"http://127.0.0.1:P": the OCI distribution API.</summary>
    public string MirrorUrl => $"http://127.0.0.1:{MirrorPort}";

    /// <summary>"127.0.0.1:P", as registries.conf names a mirror.</summary>
    public string MirrorHost => $"127.0.0.1:{MirrorPort}";

    public string MetricsUrl => $"http://127.0.0.1:{MetricsPort}";

    public string DataDir { get; }

    public AgentOptions Options => _options;

    public TestProcess Process => _process ?? throw new InvalidOperationException("Not started.");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Log lines of this run and all earlier runs (before restarts).</summary>
    public IReadOnlyList<string> Logs
    {
        get
        {
            var lines = new List<string>(_previousRuns);
            if (_process is not null)
            {
                lines.AddRange(_process.Lines);
            }

            return lines;
        }
    }

    public string LogText => string.Join('\n', Logs);

    /// <summary>Error and critical log entries over all runs (see <see cref="LogEntries.Errors"/>).</summary>
    public IReadOnlyList<string> ErrorLines => LogEntries.Errors(Logs);

    /// <summary>Starts an agent with a fresh data dir and waits until /readyz answers 200.</summary>
    public static async Task<AgentProcess> StartAsync(AgentOptions options)
    {
        var agent = new AgentProcess(options, new TempDir("agent"));
        try
        {
            await agent.StartCoreAsync();
            return agent;
        }
        catch
        {
            agent.Dispose();
            throw;
        }
    }

    /// <summary>The command-line arguments the agent is started with.</summary>
    public IReadOnlyList<string> BuildArguments()
    {
        var args = new List<string>
        {
            RepoPaths.AgentDll,
            $"--Mirror:ListenUrl={MirrorUrl}",
            $"--Metrics:ListenUrl={MetricsUrl}",
            $"--Store:DataDir={DataDir}",
            string.Create(CultureInfo.InvariantCulture, $"--Store:QuotaBytes={_options.QuotaBytes}"),
            $"--Mirror:DefaultRegistry={_options.DefaultRegistry}",
            $"--Peer:ListenUrl={PeerUrl}",
            $"--Peer:AdvertiseUrl={PeerUrl}",
        };
        args.AddRange(Tls?.Arguments ?? ["--Tls:AllowInsecure=true"]);
        AddIfSet(args, "Scheduler:Address", _options.SchedulerAddress);
        AddIfSet(args, "Node:Name", _options.NodeName);
        AddIfSet(args, "Node:Zone", _options.Zone);
        AddIfSet(args, "Node:Region", _options.Region);
        if (_options.PeerStallTimeout is { } stall)
        {
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--Peer:StallTimeout={stall:c}"));
        }

        for (var i = 0; i < _options.Registries.Count; i++)
        {
            var registry = _options.Registries[i];
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--Registries:{i}:Host={registry.Host}"));
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--Registries:{i}:PlainHttp={(registry.PlainHttp ? "true" : "false")}"));
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--Registries:{i}:Public={(registry.Public ? "true" : "false")}"));
            if (registry.Endpoint is not null)
            {
                args.Add(string.Create(CultureInfo.InvariantCulture, $"--Registries:{i}:Endpoint={registry.Endpoint}"));
            }
        }

        args.AddRange(_options.ExtraArgs);
        return args;
    }

    /// <summary>SIGKILL: no graceful shutdown, as in a crash or OOM kill.</summary>
    public void KillHard()
    {
        if (_process is null)
        {
            return;
        }

        _process.Kill(entireProcessTree: true);
    }

    /// <summary>Kills the agent if it still runs, then starts it again with the same configuration, ports and data dir.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
            _previousRuns.AddRange(_process.Lines);
            _previousRuns.Add("----- agent restarted -----");
            _process.Dispose();
            _process = null;
        }

        await StartCoreAsync();
    }

    public Task<PrometheusMetrics> GetMetricsAsync() => OperationsProbe.GetMetricsAsync(MetricsUrl);

    /// <summary>An HttpClient aimed at the mirror API (no proxy, no redirects, no default credentials).</summary>
    public HttpClient CreateMirrorClient(TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = new Uri(MirrorUrl + "/"),
            Timeout = timeout ?? TimeSpan.FromSeconds(120),
        };

    /// <summary>Path of the committed blob in the store.</summary>
    public string CommittedBlobPath(string digest) => Path.Combine(DataDir, "blobs", "sha256", digest["sha256:".Length..]);

    /// <summary>The committed blobs in the store, by digest ("sha256:hex" from the file name) and path.</summary>
    public IReadOnlyList<(string Digest, string Path)> CommittedBlobs()
    {
        var dir = Path.Combine(DataDir, "blobs", "sha256");
        return Directory.Exists(dir)
            ? [.. Directory.EnumerateFiles(dir).Select(path => ("sha256:" + Path.GetFileName(path), path)).Order()]
            : [];
    }

    /// <summary>Path of the partial data file of a blob being downloaded.</summary>
    public string PartialDataPath(string digest) => Path.Combine(DataDir, "partial", $"sha256-{digest["sha256:".Length..]}.data");

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

    private static void AddIfSet(List<string> args, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            args.Add($"--{key}={value}");
        }
    }

    private async Task StartCoreAsync()
    {
        if (!File.Exists(RepoPaths.AgentDll))
        {
            throw new FileNotFoundException($"The agent is not built for {RepoPaths.Configuration}: build the solution first.", RepoPaths.AgentDll);
        }

        var environment = LogEntries.DotnetEnvironment();
        var process = TestProcess.Start(RepoPaths.DotnetHost, BuildArguments(), new TestProcessOptions
        {
            Name = _options.NodeName is { Length: > 0 } node ? $"agent {node}" : "agent",
            WorkingDirectory = _dir.Path,
            Environment = environment,
        });
        _process = process;

        await OperationsProbe.WaitUntilReadyAsync(process, MetricsUrl, "agent", ReadyTimeout);
    }
}
