namespace PeerAgent.Scheduler.Hosting;

/// <summary>The scheduler process's operations endpoint: <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c> (section <c>Metrics</c>).</summary>
internal sealed class SchedulerMetricsOptions
{
    public const string Section = "Metrics";

    public string ListenUrl { get; set; } = "http://0.0.0.0:65005";
}
