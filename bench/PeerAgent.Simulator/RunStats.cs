namespace PeerAgent.Simulator;

/// <summary>What one run cost this machine, and what the scheduler held at its end.</summary>
internal sealed record RunStats(
    double SimulatedSeconds,
    double RuntimeSeconds,
    double ProcessCpuSeconds,
    long Events,
    long SchedulerRetainedBytes,
    long PeakWorkingSetBytes,
    long ManagedHeapBytes);
