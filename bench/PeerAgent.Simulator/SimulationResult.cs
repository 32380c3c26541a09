namespace PeerAgent.Simulator;

/// <summary>The figures of one run: bench/cluster's, plus the scheduler's own cost and the run's.</summary>
internal sealed class SimulationResult
{
    public required Scenario Scenario { get; init; }
    public required int Completed { get; init; }
    public required int Left { get; init; }
    public required long PieceBytes { get; init; }
    public required int PiecesPerLayer { get; init; }

    /// <summary>Image ÷ node download bandwidth.</summary>
    public required double IdealSeconds { get; init; }

    public required double P50 { get; init; }
    public required double P99 { get; init; }
    public required double Max { get; init; }
    public required double Mean { get; init; }

    /// <summary>Each completed node's time from its start to its last layer, ascending (nodes that left are not in it).</summary>
    public required IReadOnlyList<double> CompletionTimes { get; init; }

    /// <summary>Every node pulling the whole image from the origin at once: origin bandwidth shared by N, capped by the node's link.</summary>
    public required double DirectSeconds { get; init; }

    public required long OriginBytes { get; init; }
    public required long OriginSkippedBytes { get; init; }
    public required long PeerBytes { get; init; }
    public required long CrossZoneBytes { get; init; }
    public required long AbortedBytes { get; init; }

    /// <summary>Bytes sent to peers by the host that sent most (bench/cluster's "busiest uploader").</summary>
    public required long BusiestUploaderBytes { get; init; }
    public required int Timeouts { get; init; }
    public required int Refusals { get; init; }
    public required int ParentDrops { get; init; }
    public required int StallFallbacks { get; init; }
    public required int Revocations { get; init; }
    public required double SchedulerSeconds { get; init; }
    public required long SchedulerCalls { get; init; }
    public required long Decisions { get; init; }
    public required long ParentDecisions { get; init; }
    public required long BackToSourceDecisions { get; init; }
    public required long WaitDecisions { get; init; }
    public required RunStats Stats { get; init; }
    public required IReadOnlyList<string> Violations { get; init; }

    public double Image => Scenario.ImageBytes;
    public double OriginCopies => OriginBytes / Image;
    public double CrossZoneCopies => CrossZoneBytes / Image;
    public double AverageBelowDirectPercent => DirectSeconds > 0 ? 100 * (1 - (Mean / DirectSeconds)) : double.NaN;
    public long SchedulerRetainedPerPeer => Stats.SchedulerRetainedBytes / Math.Max(1, (long)Scenario.Nodes * Scenario.Layers);

    internal static SimulationResult From(Scenario s, Simulation sim, SchedulerCounters scheduler, RunStats stats, IReadOnlyList<string> violations)
    {
        var times = new List<double>(sim.Nodes.Count);
        foreach (var node in sim.Nodes)
        {
            if (!node.Left && !double.IsNaN(node.DoneTime))
            {
                times.Add(node.DoneTime - node.StartTime);
            }
        }

        times.Sort();
        long busiest = 0;
        foreach (var node in sim.Nodes)
        {
            busiest = Math.Max(busiest, node.BytesSentToPeers);
        }

        var mean = 0.0;
        foreach (var time in times)
        {
            mean += time;
        }

        mean = times.Count == 0 ? double.NaN : mean / times.Count;
        var perNodeRate = Math.Min(s.NodeDownBits, s.OriginBits / s.Nodes) / 8;
        return new SimulationResult
        {
            CompletionTimes = times,
            Scenario = s,
            Completed = times.Count,
            Left = sim.NodesLeft,
            PieceBytes = sim.Layers[0].PieceSize,
            PiecesPerLayer = sim.Layers[0].PieceCount,
            IdealSeconds = s.ImageBytes / (s.NodeDownBits / 8),
            P50 = Percentile(times, 0.50),
            P99 = Percentile(times, 0.99),
            Max = times.Count == 0 ? double.NaN : times[^1],
            Mean = mean,
            DirectSeconds = (s.ImageBytes / perNodeRate) + s.RttSeconds,
            OriginBytes = sim.OriginWireBytes,
            OriginSkippedBytes = sim.OriginSkippedBytes,
            PeerBytes = sim.PeerWireBytes,
            CrossZoneBytes = sim.CrossZoneBytes,
            AbortedBytes = sim.AbortedBytes,
            BusiestUploaderBytes = busiest,
            Timeouts = sim.Timeouts,
            Refusals = sim.Refusals,
            ParentDrops = sim.ParentDrops,
            StallFallbacks = sim.StallFallbacks,
            Revocations = sim.Revocations,
            SchedulerSeconds = scheduler.Seconds,
            SchedulerCalls = scheduler.Calls,
            Decisions = scheduler.Decisions,
            ParentDecisions = scheduler.ParentDecisions,
            BackToSourceDecisions = scheduler.BackToSourceDecisions,
            WaitDecisions = scheduler.WaitDecisions,
            Stats = stats,
            Violations = violations,
        };
    }

    /// <summary>Nearest rank: the smallest time at least <paramref name="p"/> of the nodes reached.</summary>
    internal static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
