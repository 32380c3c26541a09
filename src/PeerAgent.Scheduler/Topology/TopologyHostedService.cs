using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Runs the Node informer when the scheduler has a Kubernetes API, and says at start where topology comes from.</summary>
internal sealed class TopologyHostedService(INodeTopology topology, KubernetesSource source, ILogger<TopologyHostedService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (topology is not NodeInformer informer)
        {
            TopologyLog.UsingAgentLabels(logger, source.Description);
            TopologyMetrics.Synced.Set(0);
            TopologyMetrics.Nodes.Set(0);
            return Task.CompletedTask;
        }

        TopologyLog.UsingKubernetes(logger, source.Description);
        return informer.RunAsync(stoppingToken);
    }
}
