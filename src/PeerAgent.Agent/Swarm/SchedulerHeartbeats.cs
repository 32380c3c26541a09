using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// Heartbeats the scheduler (every replica, when it is sharded) every
/// <see cref="SchedulerClientOptions.HeartbeatInterval"/> so it keeps this host's peers. When a blob's owner changes
/// (a replica went away, came back or was added, or the scheduler was unreachable and answers again) or its owner
/// restarted, the recent blobs still in the store are announced as seeds again to whoever owns them now.
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
        HeartbeatRound? previous = null;
        try
        {
            do
            {
                var round = await connection.HeartbeatAsync(stoppingToken);
                if (previous is not null)
                {
                    await ReannounceAsync(previous, round, stoppingToken);
                }

                previous = round;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (RpcException) when (stoppingToken.IsCancellationRequested)
        {
            // The agent is stopping and the call in flight was cancelled: a clean stop, not a failed service.
        }
    }

    private async Task ReannounceAsync(HeartbeatRound previous, HeartbeatRound round, CancellationToken cancellationToken)
    {
        var announced = 0;
        var moved = false;
        foreach (var (digest, length) in seeds.Snapshot())
        {
            var owner = round.OwnerOf(digest);
            if (owner is null || (owner == previous.OwnerOf(digest) && !round.Restarted.Contains(owner)))
            {
                continue; // nobody to tell, or its owner already knows
            }

            moved = true;
            if (!store.Contains(digest))
            {
                continue; // evicted meanwhile
            }

            if (!await connection.AnnounceSeedAsync(digest, length, cancellationToken))
            {
                break; // gone again; the next change of owner starts over
            }

            announced++;
        }

        if (moved)
        {
            SwarmLog.SeedsReannounced(logger, announced);
        }
    }
}
