using Prometheus;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>Scheduler metrics. No digest, host id or address labels: those would grow without bound.</summary>
internal static class SchedulerMetrics
{
    public static readonly Gauge Hosts = Metrics.CreateGauge(
        "peeragent_scheduler_hosts", "Agents the scheduler knows (heartbeating within Scheduler:HostExpiry); refreshed by each sweep.");

    public static readonly Gauge Tasks = Metrics.CreateGauge(
        "peeragent_scheduler_tasks", "Blobs with at least one peer; refreshed by each sweep.");

    public static readonly Gauge Peers = Metrics.CreateGauge(
        "peeragent_scheduler_peers", "Peers (task x host) downloading or seeding; refreshed by each sweep.");

    public static readonly Gauge AnnounceStreams = Metrics.CreateGauge(
        "peeragent_scheduler_announce_streams", "Announce streams open right now.");

    /// <summary>outcome: parents|back_to_source|wait|finished.</summary>
    public static readonly Counter Decisions = Metrics.CreateCounter(
        "peeragent_scheduler_decisions_total", "Decisions sent on Announce streams, by outcome.", "outcome");

    public static readonly Counter PushedDecisions = Metrics.CreateCounter(
        "peeragent_scheduler_pushed_decisions_total", "Decisions the sweep pushed unasked (a parent died or a back-to-source grant was revoked).");

    /// <summary>kind: the AnnounceRequest field (pieces_finished, piece_failed, parent_failed, reschedule, download_finished, download_failed).</summary>
    public static readonly Counter Reports = Metrics.CreateCounter(
        "peeragent_scheduler_reports_total", "Reports received on Announce streams after register, by kind.", "kind");

    public static readonly Counter ExpiredHosts = Metrics.CreateCounter(
        "peeragent_scheduler_expired_hosts_total", "Hosts dropped for not heartbeating within Scheduler:HostExpiry.");

    public static readonly Counter.Child DecisionParents = Decisions.WithLabels("parents");
    public static readonly Counter.Child DecisionBackToSource = Decisions.WithLabels("back_to_source");
    public static readonly Counter.Child DecisionWait = Decisions.WithLabels("wait");
    public static readonly Counter.Child DecisionFinished = Decisions.WithLabels("finished");

    public static readonly Counter.Child ReportPiecesFinished = Reports.WithLabels("pieces_finished");
    public static readonly Counter.Child ReportPieceFailed = Reports.WithLabels("piece_failed");
    public static readonly Counter.Child ReportParentFailed = Reports.WithLabels("parent_failed");
    public static readonly Counter.Child ReportReschedule = Reports.WithLabels("reschedule");
    public static readonly Counter.Child ReportDownloadFinished = Reports.WithLabels("download_finished");
    public static readonly Counter.Child ReportDownloadFailed = Reports.WithLabels("download_failed");

    public static void Observe(SwarmCounts counts)
    {
        Hosts.Set(counts.Hosts);
        Tasks.Set(counts.Tasks);
        Peers.Set(counts.Peers);
    }
}
