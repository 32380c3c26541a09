using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="UpstreamOptions"/>: positive timeouts and a breaker that can open.</summary>
internal sealed class UpstreamOptionsValidator : OptionsValidator<UpstreamOptions>
{
    protected override void Validate(UpstreamOptions options, ICollection<string> errors)
    {
        RequirePositive(options.AttemptTimeout, "Upstream:AttemptTimeout", errors);
        RequirePositive(options.BodyIdleTimeout, "Upstream:BodyIdleTimeout", errors);
        RequirePositive(options.BreakerSamplingDuration, "Upstream:BreakerSamplingDuration", errors);
        RequirePositive(options.BreakerBreakDuration, "Upstream:BreakerBreakDuration", errors);
        if (options.AuthCacheDuration < TimeSpan.Zero)
        {
            errors.Add($"Upstream:AuthCacheDuration must not be negative, not {options.AuthCacheDuration}.");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            errors.Add($"Upstream:MaxRetries must be between 0 and 10, not {options.MaxRetries}.");
        }

        if (options.RetryDelay < TimeSpan.Zero)
        {
            errors.Add($"Upstream:RetryDelay must not be negative, not {options.RetryDelay}.");
        }

        if (options.BreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"Upstream:BreakerFailureRatio must be in (0, 1], not {options.BreakerFailureRatio}.");
        }

        if (options.BreakerMinimumThroughput < 2)
        {
            errors.Add($"Upstream:BreakerMinimumThroughput must be at least 2, not {options.BreakerMinimumThroughput}.");
        }
    }

    private static void RequirePositive(TimeSpan value, string key, ICollection<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be positive, not {value}.");
        }
    }
}
