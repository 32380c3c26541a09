namespace PeerAgent.Scheduler.Hosting;

/// <summary>Where the scheduler process serves gRPC (mutual TLS); shares section <c>Scheduler</c> with <see cref="Scheduling.SchedulerOptions"/>.</summary>
internal sealed class SchedulerHostOptions
{
    public const string Section = "Scheduler";

    /// <summary><c>https://</c> unless Tls:AllowInsecure=true (then <c>http://</c>, h2c).</summary>
    public string ListenUrl { get; set; } = "https://0.0.0.0:65004";
}
