using System.Diagnostics;
using System.Net.Sockets;

namespace PeerAgent.Testing;

/// <summary>How to start an <see cref="AgentCluster"/>.</summary>
public sealed class AgentClusterOptions
{
    public int Nodes { get; init; } = 4;

    /// <summary>Start a real scheduler process and point every agent at it.</summary>
    public bool StartScheduler { get; init; } = true;

    /// <summary>
    /// Only when <see cref="StartScheduler"/> is false: the Scheduler:Address the agents get, e.g. a port where nothing
    /// listens; null runs each agent's scheduler in-process.
    /// </summary>
    public string? SchedulerAddress { get; init; }

    public SchedulerProcessOptions Scheduler { get; init; } = new();

    /// <summary>Peer:StallTimeout of every agent; short so a dead parent costs seconds, not minutes.</summary>
    public TimeSpan? PeerStallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Per node (0-based index): where that agent really reaches the origin, e.g. a throttling <see cref="FaultyProxy"/>; null for the origin itself.</summary>
    public Func<int, string?>? RegistryEndpoint { get; init; }

    /// <summary>Per node (0-based index): its Node:Zone and Node:Region; null puts every node in zone-a of region-1.</summary>
    public Func<int, (string Zone, string Region)>? Topology { get; init; }

    /// <summary>Appended to every agent's arguments.</summary>
    public IReadOnlyList<string> ExtraAgentArgs { get; init; } = [];

    /// <summary>Start one containerd per agent, with a hosts.toml sending pulls of the origin to that agent.</summary>
    public bool WithContainerd { get; init; } = true;

    /// <summary>The cluster's CA, when the test also issues certificates for processes it starts itself (e.g. scheduler replicas); the cluster disposes it.</summary>
    public TestCertificates? Certificates { get; init; }
}

/// <summary>One node of an <see cref="AgentCluster"/>: an agent and the containerd that uses it as its mirror.</summary>
public sealed class ClusterNode
{
    private readonly ContainerdProcess? _containerd;

    internal ClusterNode(int index, AgentProcess agent, ContainerdProcess? containerd, string hostsDir)
    {
        Index = index;
        Agent = agent;
        _containerd = containerd;
        HostsDir = hostsDir;
    }

    public int Index { get; }

    /// <summary>"node-1" and so on: the agent's Node:Name.</summary>
    public string Name => Agent.Options.NodeName!;

    public AgentProcess Agent { get; }

    public ContainerdProcess Containerd => _containerd ?? throw new InvalidOperationException($"{Name} was started without containerd.");

    /// <summary>The hosts dir whose hosts.toml sends pulls of the origin to this node's agent.</summary>
    public string HostsDir { get; }

    /// <summary><c>ctr images pull</c> on this node's containerd; never throws on a failed pull (look at the result).</summary>
    public async Task<NodePull> PullAsync(string reference, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        var result = await Containerd.PullAsync(reference, HostsDir, check: false, timeout: timeout);
        return new NodePull(this, result, watch.Elapsed);
    }

    public override string ToString() => $"{Name} (mirror {Agent.MirrorUrl}, peer {Agent.PeerUrl})";
}

/// <summary>The outcome of one node's pull.</summary>
public sealed record NodePull(ClusterNode Node, ProcessResult Result, TimeSpan Elapsed)
{
    public bool Succeeded => Result.Succeeded;

    public override string ToString() => $"{Node.Name}: {Result}";
}

/// <summary>
/// A local cluster on loopback: a scheduler process and N agents (node-1..node-N, each with its own ports, data dir
/// and, optionally, its own containerd), all mirroring one origin. The origin belongs to the caller. The cluster has
/// its own CA; the scheduler and every agent get a certificate of it and talk mutual TLS, as users run them.
/// Disposal stops everything in reverse order of start: containerds, agents, scheduler.
/// </summary>
public sealed class AgentCluster : IAsyncDisposable, IDisposable
{
    private readonly List<ClusterNode> _nodes;
    private readonly List<ContainerdProcess> _containerds;
    private readonly List<TempDir> _hosts;

    private AgentCluster(RegistryProcess origin, TestCertificates certificates, SchedulerProcess? scheduler, List<ClusterNode> nodes, List<ContainerdProcess> containerds, List<TempDir> hosts)
    {
        Origin = origin;
        Certificates = certificates;
        Scheduler = scheduler;
        _nodes = nodes;
        _containerds = containerds;
        _hosts = hosts;
    }

    public RegistryProcess Origin { get; }

    /// <summary>The cluster's CA, which issued the scheduler's and every agent's certificate.</summary>
    public TestCertificates Certificates { get; }

    /// <summary>The scheduler process, or null when the cluster runs without one.</summary>
    public SchedulerProcess? Scheduler { get; }

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    public IEnumerable<AgentProcess> Agents => _nodes.Select(n => n.Agent);

    public ClusterNode this[int index] => _nodes[index];

    /// <summary>Starts the scheduler, then the agents and containerds (each group in parallel); stops what started when any part fails.</summary>
    public static async Task<AgentCluster> StartAsync(RegistryProcess origin, AgentClusterOptions? options = null)
    {
        options ??= new AgentClusterOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Nodes, 1);
        var certificates = options.Certificates ?? TestCertificates.Create();
        SchedulerProcess? scheduler = null;
        var agents = new List<AgentProcess>();
        var containerds = new List<ContainerdProcess>();
        var hosts = new List<TempDir>();
        try
        {
            string? schedulerAddress;
            if (options.StartScheduler)
            {
                scheduler = await SchedulerProcess.StartAsync(new SchedulerProcessOptions
                {
                    HostExpiry = options.Scheduler.HostExpiry,
                    ExtraArgs = options.Scheduler.ExtraArgs,
                    Tls = options.Scheduler.Tls ?? certificates.Issue("scheduler"),
                });
                schedulerAddress = scheduler.Address;
            }
            else
            {
                schedulerAddress = options.SchedulerAddress;
            }

            agents.AddRange(await StartAllAsync(options.Nodes, i => AgentProcess.StartAsync(new AgentOptions
            {
                DefaultRegistry = origin.Endpoint,
                Registries = [new AgentRegistry(origin.Endpoint, PlainHttp: true, Public: true, Endpoint: options.RegistryEndpoint?.Invoke(i))],
                SchedulerAddress = schedulerAddress,
                NodeName = $"node-{i + 1}",
                Zone = options.Topology?.Invoke(i).Zone ?? "zone-a",
                Region = options.Topology?.Invoke(i).Region ?? "region-1",
                PeerStallTimeout = options.PeerStallTimeout,
                ExtraArgs = options.ExtraAgentArgs,
                Tls = certificates.Issue($"node-{i + 1}"),
            })));
            foreach (var agent in agents)
            {
                await WaitForPeerListenerAsync(agent);
            }

            if (options.WithContainerd)
            {
                containerds.AddRange(await StartAllAsync(options.Nodes, _ => ContainerdProcess.StartAsync()));
            }

            var nodes = new List<ClusterNode>();
            for (var i = 0; i < options.Nodes; i++)
            {
                var dir = new TempDir("hosts");
                hosts.Add(dir);
                ContainerdProcess.WriteHostsToml(dir.Path, origin.Endpoint, agents[i].MirrorUrl);
                nodes.Add(new ClusterNode(i, agents[i], options.WithContainerd ? containerds[i] : null, dir.Path));
            }

            return new AgentCluster(origin, certificates, scheduler, nodes, containerds, hosts);
        }
        catch
        {
            DisposeAll(containerds, agents, scheduler, hosts);
            certificates.Dispose();
            throw;
        }
    }

    /// <summary>Starts every node's pull at the same moment and waits for all of them.</summary>
    public async Task<IReadOnlyList<NodePull>> PullAllAtOnceAsync(string reference, TimeSpan timeout)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pulls = _nodes.Select(async node =>
        {
            await go.Task;
            return await node.PullAsync(reference, timeout);
        }).ToList();
        go.SetResult();
        return await Task.WhenAll(pulls);
    }

    /// <summary>The sum of one metric over every running agent.</summary>
    public async Task<double> SumMetricAsync(string name, params (string Label, string Value)[] match)
    {
        double sum = 0;
        foreach (var agent in Agents.Where(a => a.IsRunning))
        {
            sum += (await agent.GetMetricsAsync()).Sum(name, match);
        }

        return sum;
    }

    public void Dispose()
    {
        DisposeAll(_containerds, [.. Agents], Scheduler, _hosts);
        Certificates.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static void DisposeAll(List<ContainerdProcess> containerds, List<AgentProcess> agents, SchedulerProcess? scheduler, List<TempDir> hosts)
    {
        for (var i = containerds.Count - 1; i >= 0; i--)
        {
            containerds[i].Dispose();
        }

        for (var i = agents.Count - 1; i >= 0; i--)
        {
            agents[i].Dispose();
        }

        scheduler?.Dispose();
        foreach (var dir in hosts)
        {
            dir.Dispose();
        }
    }

    /// <summary>Starts <paramref name="count"/> things at once; when one fails, disposes the others and rethrows.</summary>
    private static async Task<List<T>> StartAllAsync<T>(int count, Func<int, Task<T>> start)
        where T : IDisposable
    {
        var tasks = Enumerable.Range(0, count).Select(start).ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch
        {
            foreach (var task in tasks.Where(t => t.IsCompletedSuccessfully))
            {
                task.Result.Dispose();
            }

            throw;
        }

        return [.. tasks.Select(t => t.Result)];
    }

    /// <summary>An agent that ignores Peer:ListenUrl would be unreachable for its peers: fail at start, with a clear message.</summary>
    private static Task WaitForPeerListenerAsync(AgentProcess agent) =>
        Wait.UntilAsync(
            async () =>
            {
                if (!agent.IsRunning)
                {
                    throw new InvalidOperationException($"The agent {agent.Options.NodeName} exited:\n{agent.Process.Tail()}");
                }

                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync("127.0.0.1", agent.PeerPort, timeout.Token);
                return true;
            },
            TimeSpan.FromSeconds(15),
            $"the agent {agent.Options.NodeName} accepts connections on its peer port {agent.PeerUrl} (Peer:ListenUrl)");
}
