using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Runs the EndpointSlice informer when <c>Kubernetes:ShardService</c> is set, and says at start where it looks.</summary>
internal sealed class ShardHostedService(IShardDirectory directory, KubernetesSource source, ILogger<ShardHostedService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (directory is not EndpointSliceInformer informer)
        {
            ShardMetrics.Synced.Set(0);
            ShardMetrics.Replicas.Set(0);
            return Task.CompletedTask;
        }

        TopologyLog.UsingShardService(logger, informer.Service, informer.Namespace, informer.Scheme, source.Description);
        return informer.RunAsync(stoppingToken);
    }
}
