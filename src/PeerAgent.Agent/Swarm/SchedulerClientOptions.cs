namespace PeerAgent.Agent.Swarm;

/// <summary>How the agent reaches the scheduler (section <c>Scheduler</c>, checked by <c>SchedulerClientOptionsValidator</c>).</summary>
/// <remarks>The embedded scheduler's own options (FanOutLimit, ...) are in section <c>EmbeddedScheduler</c>.</remarks>
internal sealed class SchedulerClientOptions
{
    public const string Section = "Scheduler";

    /// <summary>The scheduler's gRPC address, e.g. <c>http://peeragent-scheduler:65004</c>. Empty: run it in-process.</summary>
    public string Address { get; set; } = "";

    /// <summary>Longest wait for the scheduler's first answer on a download; past it the blob comes from the origin.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>After the scheduler failed, downloads skip it (straight to the origin) for this long, or until a heartbeat gets through.</summary>
    public TimeSpan RetryAfterFailure { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the agent heartbeats; keep it well under the scheduler's HostExpiry (10 s by default).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    public bool IsEmbedded => string.IsNullOrWhiteSpace(Address);
}
