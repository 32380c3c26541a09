using Microsoft.Extensions.Hosting;

namespace PeerAgent.Agent.Swarm;

/// <summary>Heartbeats the scheduler every <see cref="SchedulerClientOptions.HeartbeatInterval"/> so it keeps this host's peers.</summary>
internal sealed class SchedulerHeartbeats(SchedulerConnection connection, SchedulerClientOptions options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HeartbeatInterval, time);
        do
        {
            await connection.HeartbeatAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
