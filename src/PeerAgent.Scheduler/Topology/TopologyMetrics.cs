using Prometheus;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Node informer metrics. No node names in labels.</summary>
internal static class TopologyMetrics
{
    public static readonly Gauge Nodes = Metrics.CreateGauge(
        "peeragent_scheduler_topology_nodes", "Kubernetes Nodes the scheduler's informer knows (0 without Kubernetes).");

    public static readonly Gauge Synced = Metrics.CreateGauge(
        "peeragent_scheduler_topology_synced", "1 once the Node informer completed its first list, else 0.");

    /// <summary>reason: initial|gone|failures.</summary>
    public static readonly Counter Relists = Metrics.CreateCounter(
        "peeragent_scheduler_topology_relists_total", "Complete Node lists, by reason: initial, gone (410), failures (repeated watch errors).", "reason");

    /// <summary>type: added|modified|deleted|bookmark.</summary>
    public static readonly Counter WatchEvents = Metrics.CreateCounter(
        "peeragent_scheduler_topology_watch_events_total", "Node watch events received, by type.", "type");

    public static readonly Counter WatchFailures = Metrics.CreateCounter(
        "peeragent_scheduler_topology_watch_failures_total", "Node list or watch requests that failed (connection lost, error status); each is retried with backoff.");
}
