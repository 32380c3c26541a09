using Prometheus;

namespace PeerAgent.Scheduler.Topology;

/// <summary>EndpointSlice informer metrics (the scheduler replicas). No pod names or addresses in labels.</summary>
internal static class ShardMetrics
{
    public static readonly Gauge Replicas = Metrics.CreateGauge(
        "peeragent_scheduler_shard_replicas", "Ready scheduler replicas in the shard Service's EndpointSlices (0 when not sharded or not synced yet).");

    public static readonly Gauge Synced = Metrics.CreateGauge(
        "peeragent_scheduler_shard_synced", "1 once the EndpointSlice informer completed its first list, else 0.");

    /// <summary>reason: initial|gone|failures.</summary>
    public static readonly Counter Relists = Metrics.CreateCounter(
        "peeragent_scheduler_shard_relists_total", "Complete EndpointSlice lists, by reason: initial, gone (410), failures (repeated watch errors).", "reason");

    /// <summary>type: added|modified|deleted|bookmark.</summary>
    public static readonly Counter WatchEvents = Metrics.CreateCounter(
        "peeragent_scheduler_shard_watch_events_total", "EndpointSlice watch events received, by type.", "type");

    public static readonly Counter WatchFailures = Metrics.CreateCounter(
        "peeragent_scheduler_shard_watch_failures_total", "EndpointSlice list or watch requests that failed (connection lost, error status); each is retried with backoff.");
}
