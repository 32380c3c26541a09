namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// Capped exponential backoff with jitter for the Node informer: attempt n waits a random time in
/// [½, 1] × min(<see cref="Cap"/>, <see cref="Initial"/> × 2^(n−1)), so schedulers that lost the API server together
/// do not come back in step.
/// </summary>
internal sealed class InformerBackoff
{
    public static readonly TimeSpan DefaultInitial = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultCap = TimeSpan.FromSeconds(30);

    private readonly Func<double> _random;

    public InformerBackoff(TimeSpan initial, TimeSpan cap, Func<double>? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, initial);
        Initial = initial;
        Cap = cap;
#pragma warning disable CA5394 // Jitter only spreads retries; nothing depends on it being unpredictable.
        _random = random ?? Random.Shared.NextDouble;
#pragma warning restore CA5394
    }

    public TimeSpan Initial { get; }

    public TimeSpan Cap { get; }

    /// <summary>The upper bound for <paramref name="attempt"/> (1 = the first retry), before jitter.</summary>
    public TimeSpan Ceiling(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponent = Math.Min(attempt - 1, 30);
        var ticks = Math.Min((double)Cap.Ticks, Initial.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromTicks((long)ticks);
    }

    public TimeSpan Delay(int attempt) => TimeSpan.FromTicks((long)(Ceiling(attempt).Ticks * (0.5 + (0.5 * _random()))));
}
