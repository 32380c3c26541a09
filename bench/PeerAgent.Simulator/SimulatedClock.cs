namespace PeerAgent.Simulator;

/// <summary>The simulation's clock as a <see cref="TimeProvider"/>, so the scheduler's expiry and stall rules run on simulated time.</summary>
internal sealed class SimulatedClock : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Simulated seconds since the run began.</summary>
    public double Now { get; set; }

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks((long)(Now * TimeSpan.TicksPerSecond));

    public override long GetTimestamp() => (long)(Now * TimestampFrequency);

    public override long TimestampFrequency => 1_000_000_000;
}
