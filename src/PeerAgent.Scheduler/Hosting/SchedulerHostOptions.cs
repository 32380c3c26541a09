namespace PeerAgent.Scheduler.Hosting;

/// <summary>Where the scheduler process serves gRPC (h2c); shares section <c>Scheduler</c> with <see cref="Scheduling.SchedulerOptions"/>.</summary>
internal sealed class SchedulerHostOptions
{
    public const string Section = "Scheduler";

    public string ListenUrl { get; set; } = "http://0.0.0.0:65004";
}
