using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>Turns <see cref="SwarmScheduler.Schedule"/> into the wire's <see cref="AnnounceResponse"/>.</summary>
internal sealed class Decisions
{
    private static readonly AnnounceResponse FinishedResponse = new() { Finished = new FinishedDecision() };

    // A task's piece digests are published once and never change, so their wire form is built once per list.
    private readonly ConditionalWeakTable<IReadOnlyList<Digest>, ByteString[]> _pieceDigests = new();
    private readonly SwarmScheduler _scheduler;
    private readonly HostPlacements _placements;
    private readonly ILogger<Decisions> _logger;

    public Decisions(SwarmScheduler scheduler, HostPlacements placements, ILogger<Decisions> logger)
    {
        _scheduler = scheduler;
        _placements = placements;
        _logger = logger;
    }

    /// <summary>The <c>finished</c> answer (a seed needs no decision).</summary>
    public static AnnounceResponse Finished(AnnounceStream stream)
    {
        stream.IsSeed = true;
        SchedulerMetrics.DecisionFinished.Inc();
        return FinishedResponse;
    }

    /// <summary>
    /// A fresh decision for the stream's peer. A peer the scheduler no longer knows (its host expired while the
    /// stream stayed open, or the state was lost) is registered and announced again with the pieces this stream
    /// reported, then scheduled; if even that fails it is told to wait.
    /// </summary>
    public AnnounceResponse Next(AnnounceStream stream)
    {
        var peer = stream.Peer;
        var decision = _scheduler.Schedule(peer.Task, peer.HostId);
        if (decision.Outcome == ScheduleOutcome.Unknown)
        {
            // Placed again: the Node's labels may have changed since the stream registered.
            _placements.Register(_placements.Place(stream.Host));
            if (_scheduler.Announce(peer.Task, stream.Length, peer.HostId, stream.PiecesSnapshot()) == AnnounceResult.Registered)
            {
                SchedulerServiceLog.Reannounced(_logger, peer.Task, peer.HostId);
                decision = _scheduler.Schedule(peer.Task, peer.HostId);
            }
        }

        switch (decision.Outcome)
        {
            case ScheduleOutcome.Parents:
                SchedulerMetrics.DecisionParents.Inc();
                var parents = new ParentsDecision();
                AddParents(parents.Parents, decision.Parents);
                var digests = _scheduler.PieceDigestsOf(peer.Task);
                if (digests is not null)
                {
                    parents.PieceSha256.AddRange(_pieceDigests.GetValue(digests, WireMapping.ToWire));
                }

                return new AnnounceResponse { Parents = parents };

            case ScheduleOutcome.BackToSource:
                SchedulerMetrics.DecisionBackToSource.Inc();
                var source = new BackToSourceDecision { PieceStart = decision.Stripe.Start, PieceEnd = decision.Stripe.End };
                AddParents(source.Parents, decision.Parents);
                return new AnnounceResponse { BackToSource = source };

            case ScheduleOutcome.Finished:
                return Finished(stream);

            default:
                // Wait, or still unknown after announcing again (the task's length changed under it): ask again later.
                SchedulerMetrics.DecisionWait.Inc();
                var retryAfter = decision.Outcome == ScheduleOutcome.Wait ? decision.RetryAfter : _scheduler.Options.WaitRetryInterval;
                return new AnnounceResponse { Wait = new WaitDecision { RetryAfterMs = (int)Math.Min(int.MaxValue, Math.Ceiling(retryAfter.TotalMilliseconds)) } };
        }
    }

    private static void AddParents(Google.Protobuf.Collections.RepeatedField<ParentPeer> target, IReadOnlyList<ParentCandidate> parents)
    {
        for (var i = 0; i < parents.Count; i++)
        {
            target.Add(new ParentPeer { HostId = parents[i].HostId, PeerAddress = parents[i].PeerAddress, Zone = parents[i].Zone, Region = parents[i].Region });
        }
    }
}
