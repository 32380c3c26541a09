using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>
/// Runs <see cref="SwarmScheduler.Sweep"/> every <see cref="SchedulerOptions.SweepInterval"/>: drops silent hosts,
/// revokes stalled back-to-source grants, and pushes a fresh decision to each affected peer with an open stream.
/// </summary>
internal sealed class SchedulerSweeper : BackgroundService
{
    private readonly SwarmScheduler _scheduler;
    private readonly AnnounceStreams _streams;
    private readonly Decisions _decisions;
    private readonly TimeProvider _time;
    private readonly ILogger<SchedulerSweeper> _logger;

    public SchedulerSweeper(SwarmScheduler scheduler, AnnounceStreams streams, Decisions decisions, TimeProvider time, ILogger<SchedulerSweeper> logger)
    {
        _scheduler = scheduler;
        _streams = streams;
        _decisions = decisions;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        SchedulerMetrics.Observe(_scheduler.Counts());
        using var timer = new PeriodicTimer(_scheduler.Options.SweepInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    // Not awaited: one agent that stopped reading its stream must not hold up the next sweep.
                    _ = SweepOnceAsync();
                }
#pragma warning disable CA1031 // One bad sweep must not stop expiry for the life of the process.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    SchedulerServiceLog.SweepFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One sweep now; the task completes when the pushes it caused are written (it never faults).</summary>
    internal Task SweepOnceAsync()
    {
        var result = _scheduler.Sweep();
        SchedulerMetrics.Observe(_scheduler.Counts());
        if (result.ExpiredHosts.Count > 0)
        {
            SchedulerMetrics.ExpiredHosts.Inc(result.ExpiredHosts.Count);
            SchedulerServiceLog.HostsExpired(_logger, result.ExpiredHosts.Count, string.Join(", ", result.ExpiredHosts));
        }

        if (result.Orphaned.Count == 0 && result.RevokedBackToSource.Count == 0)
        {
            return Task.CompletedTask;
        }

        var pushes = new List<Task>();
        var seen = new HashSet<PeerRef>();
        Collect(result.Orphaned, seen, pushes);
        Collect(result.RevokedBackToSource, seen, pushes);
        SchedulerServiceLog.Pushing(_logger, result.Orphaned.Count, result.RevokedBackToSource.Count, pushes.Count);
        return Task.WhenAll(pushes);
    }

    private void Collect(IReadOnlyList<PeerRef> peers, HashSet<PeerRef> seen, List<Task> pushes)
    {
        for (var i = 0; i < peers.Count; i++)
        {
            if (seen.Add(peers[i]) && _streams.TryGet(peers[i], out var stream))
            {
                pushes.Add(PushAsync(stream));
            }
        }
    }

    private async Task PushAsync(AnnounceStream stream)
    {
        try
        {
            if (await stream.WriteAsync(_decisions.Next))
            {
                SchedulerMetrics.PushedDecisions.Inc();
            }
        }
#pragma warning disable CA1031 // A stream that broke meanwhile is cleaned up by its own call; the sweep goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SchedulerServiceLog.PushFailed(_logger, stream.Peer.Task, stream.Peer.HostId, ex);
        }
    }
}
