using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Swarm;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Simulator;

/// <summary>
/// The real <see cref="SwarmScheduler"/>, with the time spent inside its calls added up. The simulation runs on
/// one thread and never blocks inside a call, so this wall time is the scheduler's CPU time.
/// </summary>
internal sealed class MeteredScheduler
{
    private readonly SwarmScheduler _scheduler;
    private long _ticks;

    public MeteredScheduler(SchedulerOptions options, TimeProvider time, ulong seed)
    {
        _scheduler = new SwarmScheduler(options, time, NullLogger<SwarmScheduler>.Instance, seed);
    }

    public SchedulerOptions Options => _scheduler.Options;

    /// <summary>Seconds spent inside scheduler calls so far.</summary>
    public double Seconds => _ticks / (double)Stopwatch.Frequency;

    public long Calls { get; private set; }
    public long Decisions { get; private set; }
    public long ParentDecisions { get; private set; }
    public long BackToSourceDecisions { get; private set; }
    public long WaitDecisions { get; private set; }

    /// <summary>The counters as they are now, detached from the scheduler (so it can be collected).</summary>
    public SchedulerCounters Snapshot() => new(Seconds, Calls, Decisions, ParentDecisions, BackToSourceDecisions, WaitDecisions);

    public void RegisterHost(PeerHost host)
    {
        var start = Begin();
        _scheduler.RegisterHost(host);
        End(start);
    }

    public bool Heartbeat(string hostId, int uploads)
    {
        var start = Begin();
        var known = _scheduler.Heartbeat(hostId, uploads);
        End(start);
        return known;
    }

    public AnnounceResult Announce(Digest digest, long length, string hostId, byte[]? bitmap = null)
    {
        var start = Begin();
        var result = _scheduler.Announce(digest, length, hostId, bitmap);
        End(start);
        return result;
    }

    public ScheduleDecision Schedule(Digest digest, string hostId)
    {
        var start = Begin();
        var decision = _scheduler.Schedule(digest, hostId);
        End(start);
        Decisions++;
        switch (decision.Outcome)
        {
            case ScheduleOutcome.Parents:
                ParentDecisions++;
                break;
            case ScheduleOutcome.BackToSource:
                BackToSourceDecisions++;
                break;
            case ScheduleOutcome.Wait:
                WaitDecisions++;
                break;
            default:
                break;
        }

        return decision;
    }

    public void PieceFinished(Digest digest, string hostId, int piece)
    {
        var start = Begin();
        _scheduler.PieceFinished(digest, hostId, piece);
        End(start);
    }

    public bool PieceFailed(Digest digest, string hostId, int piece, string parentHostId)
    {
        var start = Begin();
        var dropped = _scheduler.PieceFailed(digest, hostId, piece, parentHostId);
        End(start);
        return dropped;
    }

    public void ParentFailed(Digest digest, string hostId, string parentHostId)
    {
        var start = Begin();
        _scheduler.ParentFailed(digest, hostId, parentHostId);
        End(start);
    }

    public void DownloadFinished(Digest digest, string hostId)
    {
        var start = Begin();
        _scheduler.DownloadFinished(digest, hostId);
        End(start);
    }

    public void Leave(Digest digest, string hostId)
    {
        var start = Begin();
        _scheduler.Leave(digest, hostId);
        End(start);
    }

    public SweepResult Sweep()
    {
        var start = Begin();
        var result = _scheduler.Sweep();
        End(start);
        return result;
    }

    private long Begin()
    {
        Calls++;
        return Stopwatch.GetTimestamp();
    }

    private void End(long start) => _ticks += Stopwatch.GetTimestamp() - start;
}
