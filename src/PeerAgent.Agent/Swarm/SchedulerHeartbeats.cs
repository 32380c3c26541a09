using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// Heartbeats the scheduler every <see cref="SchedulerClientOptions.HeartbeatInterval"/> so it keeps this host's
/// peers; when the scheduler restarted or was unreachable, announces the recent blobs still in the store as seeds again.
/// </summary>
internal sealed class SchedulerHeartbeats(
    SchedulerConnection connection,
    IOptions<SchedulerClientOptions> options,
    RecentSeeds seeds,
    ContentStore store,
    TimeProvider time,
    ILogger<SchedulerHeartbeats> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        var unreachable = false;
        do
        {
            var result = await connection.HeartbeatAsync(stoppingToken);

            // A restarted scheduler knows nothing; one that was unreachable missed the blobs stored meanwhile.
            if (result == HeartbeatResult.Restarted || (result == HeartbeatResult.Same && unreachable))
            {
                await ReannounceAsync(stoppingToken);
            }

            unreachable = result == HeartbeatResult.Unreachable;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task ReannounceAsync(CancellationToken cancellationToken)
    {
        var announced = 0;
        foreach (var (digest, length) in seeds.Snapshot())
        {
            if (!store.Contains(digest))
            {
                continue; // evicted meanwhile
            }

            if (!await connection.AnnounceSeedAsync(digest, length, cancellationToken))
            {
                break; // gone again; the next restart notice starts over
            }

            announced++;
        }

        SwarmLog.SeedsReannounced(logger, announced);
    }
}
