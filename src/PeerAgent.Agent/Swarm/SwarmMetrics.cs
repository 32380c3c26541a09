using Prometheus;

namespace PeerAgent.Agent.Swarm;

/// <summary>Swarm downloader metrics. No digest or peer address labels (unbounded cardinality).</summary>
internal static class SwarmMetrics
{
    /// <summary>source: peers|origin|mixed — where a committed blob's pieces came from.</summary>
    public static readonly Counter Downloads = Metrics.CreateCounter(
        "peeragent_swarm_downloads_total", "Blob downloads finished by the swarm downloader, by where their pieces came from.", "source");

    public static readonly Counter Pieces = Metrics.CreateCounter(
        "peeragent_swarm_pieces_total", "Pieces stored by the swarm downloader, by source.", "source");

    /// <summary>reason: stall|no_scheduler|distrusted — the download read the origin without a back-to-source grant.</summary>
    public static readonly Counter OriginFallbacks = Metrics.CreateCounter(
        "peeragent_swarm_origin_fallbacks_total", "Downloads that went to the origin without the scheduler's grant, by reason.", "reason");

    public static readonly Counter ParentsDropped = Metrics.CreateCounter(
        "peeragent_swarm_parents_dropped_total", "Parents a download stopped using, by reason.", "reason");

    public static readonly Counter SchedulerFailures = Metrics.CreateCounter(
        "peeragent_swarm_scheduler_failures_total", "Calls to the scheduler that failed (unreachable, timed out, refused).");

    public static readonly Counter SchedulerSkipped = Metrics.CreateCounter(
        "peeragent_swarm_scheduler_skipped_total", "Downloads that did not ask the scheduler because it failed moments ago.");

    public static readonly Histogram SchedulerFailovers = Metrics.CreateHistogram(
        "peeragent_swarm_scheduler_failover_seconds",
        "Announce streams moved to the next scheduler replica after theirs broke, by how long the move took (from the break to the new replica's first decision).",
        new HistogramConfiguration { Buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10] });

    public static readonly Gauge SchedulerReplicas = Metrics.CreateGauge(
        "peeragent_swarm_scheduler_replicas", "Scheduler replicas the last heartbeat answer listed; 0 when the scheduler is not sharded.");

    public static readonly Counter.Child PiecesFromPeers = Pieces.WithLabels("peer");
    public static readonly Counter.Child PiecesFromOrigin = Pieces.WithLabels("origin");
}
