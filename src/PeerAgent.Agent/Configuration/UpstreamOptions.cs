namespace PeerAgent.Agent.Configuration;

/// <summary>How the agent talks to origin registries (section <c>Upstream</c>).</summary>
internal sealed class UpstreamOptions
{
    public const string Section = "Upstream";

    /// <summary>Time allowed for one attempt to receive response headers.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed between two reads of a response body before the transfer counts as stalled.</summary>
    public TimeSpan BodyIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries of an idempotent request (and resumptions of a broken blob body) after the first attempt.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Base delay of the jittered exponential backoff between retries.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Failure ratio over <see cref="BreakerSamplingDuration"/> that opens the per-upstream circuit.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public int BreakerMinimumThroughput { get; set; } = 10;

    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an upstream's "yes" to a credential for a repository and object is trusted.</summary>
    public TimeSpan AuthCacheDuration { get; set; } = TimeSpan.FromSeconds(60);
}
