using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests;

/// <summary>
/// Owns the processes a test starts: disposes them in reverse order even when the test fails, and writes the
/// tail of their logs to the test output so a failure can be diagnosed.
/// </summary>
public abstract class FunctionalTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<IDisposable> _owned = [];
    private readonly List<(string Name, Func<string> Describe)> _diagnostics = [];

    protected ITestOutputHelper Output { get; } = output;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        foreach (var (name, describe) in _diagnostics)
        {
            try
            {
                Output.WriteLine($"===== {name} =====\n{describe()}");
            }
            catch (InvalidOperationException)
            {
                // No test is active (e.g. the test was skipped).
            }
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        return Task.CompletedTask;
    }

    protected T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    protected void Diagnose(string name, Func<string> describe) => _diagnostics.Add((name, describe));

    protected async Task<AgentProcess> StartAgentAsync(AgentOptions options, string name = "agent")
    {
        var agent = Own(await AgentProcess.StartAsync(options));
        Diagnose($"{name} log (tail)", () => string.Join('\n', agent.Logs.TakeLast(80)));
        return agent;
    }

    protected async Task<ContainerdProcess> StartContainerdAsync()
    {
        var containerd = Own(await ContainerdProcess.StartAsync());
        Diagnose("containerd log (tail)", () => containerd.Process.Tail(40));
        return containerd;
    }

    /// <summary>Starts a scheduler, owned by the test, with its log tail in the output.</summary>
    protected async Task<SchedulerProcess> StartSchedulerAsync(SchedulerProcessOptions? options = null)
    {
        var scheduler = Own(await SchedulerProcess.StartAsync(options));
        Diagnose("scheduler log (tail)", () => string.Join('\n', scheduler.Logs.TakeLast(80)));
        return scheduler;
    }

    /// <summary>Starts a local cluster (scheduler, agents, containerds), owned by the test, with every process's log tail in the output.</summary>
    protected async Task<AgentCluster> StartClusterAsync(RegistryProcess origin, AgentClusterOptions? options = null)
    {
        var cluster = Own(await AgentCluster.StartAsync(origin, options));
        if (cluster.Scheduler is { } scheduler)
        {
            Diagnose("scheduler log (tail)", () => string.Join('\n', scheduler.Logs.TakeLast(80)));
        }

        foreach (var node in cluster.Nodes)
        {
            Diagnose($"{node} agent log (tail)", () => string.Join('\n', node.Agent.Logs.TakeLast(80)));
            if (options?.WithContainerd != false)
            {
                Diagnose($"{node.Name} containerd log (tail)", () => node.Containerd.Process.Tail(20));
            }
        }

        return cluster;
    }

    protected void DiagnoseOrigin(RegistryProcess origin) => Diagnose($"origin {origin.Endpoint} requests", origin.DescribeRequests);
}
