using System.Globalization;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Simulator;

/// <summary>One simulated pull: the cluster, its links, the image, and the agent settings that shape a download.</summary>
/// <remarks>Rates are in bits per second, times in seconds, sizes in bytes. Defaults are the product's (PeerOptions, SchedulerOptions).</remarks>
internal sealed class Scenario
{
    public const long MiB = 1024 * 1024;

    private static readonly SchedulerOptions SchedulerDefaults = new();

    public string Name { get; set; } = "custom";
    public int Nodes { get; set; } = 100;
    public long ImageBytes { get; set; } = 512 * MiB;
    public int Layers { get; set; } = 4;

    /// <summary>Piece size; 0 takes the product's layout (PieceLayout.For of each layer's length).</summary>
    public long PieceBytes { get; set; }

    public double NodeUpBits { get; set; } = 10e9;
    public double NodeDownBits { get; set; } = 10e9;
    public double OriginBits { get; set; } = 10e9;
    public int Zones { get; set; } = 3;
    public int Regions { get; set; } = 1;

    /// <summary>Round trip inside a zone, and to the origin and the scheduler.</summary>
    public double RttSeconds { get; set; } = 0.0005;

    /// <summary>Extra round trip between zones.</summary>
    public double CrossZoneRttSeconds { get; set; } = 0.002;

    /// <summary>Share of nodes (0–100) that leave mid-download, each after a random 10–90 % of the image arrived.</summary>
    public double LeavePercent { get; set; }

    /// <summary>Nodes start within this window (uniformly), as bench/cluster's hosts poll their go file.</summary>
    public double StartJitterSeconds { get; set; } = 0.010;

    public int Seed { get; set; } = 1;

    // The agent (PeerOptions and its fixed loop intervals).
    public int MaxPiecesInFlight { get; set; } = 4;
    public int MaxConcurrentUploads { get; set; } = 16;
    public int MaxQueuedUploads { get; set; }
    public double PieceTimeoutSeconds { get; set; } = 10;
    public double StallTimeoutSeconds { get; set; } = 10;
    public double HeartbeatSeconds { get; set; } = 2;

    /// <summary>Exact max-min fair sharing over all flows instead of the local per-flow share (slow: small runs only).</summary>
    public bool MaxMinSharing { get; set; }

    /// <summary>
    /// What-if, not the agent's behaviour: also ask for parents this often while downloading (0: only when no parent
    /// has anything useful or a wait is over, as the agent does). The agent keeps the parents it had, so this grows a mesh.
    /// </summary>
    public double RefreshParentsSeconds { get; set; }

    // The scheduler: its defaults are read from SchedulerOptions itself, so the simulation follows the product's.
    public int FanOutLimit { get; set; } = SchedulerDefaults.FanOutLimit;
    public int BackToSourceQuota { get; set; } = SchedulerDefaults.BackToSourceQuota;
    public bool StripeBackToSource { get; set; } = SchedulerDefaults.StripeBackToSource;
    public int ZoneLeaders { get; set; } = SchedulerDefaults.ZoneLeaders;
    public int CandidateParentCount { get; set; } = SchedulerDefaults.CandidateParentCount;
    public int CandidateSampleSize { get; set; } = SchedulerDefaults.CandidateSampleSize;
    public double WaitRetrySeconds { get; set; } = SchedulerDefaults.WaitRetryInterval.TotalSeconds;

    /// <summary>The agent's least interval between two reschedule requests for lack of a useful parent (fixed in SwarmFill).</summary>
    public double MinRescheduleSeconds { get; set; } = Simulation.MinRescheduleInterval;

    /// <summary>Simulated seconds after which the run stops and every unfinished node is an invariant failure.</summary>
    public double TimeLimitSeconds { get; set; } = 3600;

    public Scenario Clone() => (Scenario)MemberwiseClone();

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(Nodes is >= 2 and <= 100_000, $"--nodes must be 2–100000, not {Nodes}", errors);
        Check(ImageBytes is >= 1 and <= 64L * 1024 * MiB, $"--image-mib must be positive and at most 65536, not {ImageBytes / (double)MiB}", errors);
        Check(Layers is >= 1 and <= 64 && Layers <= ImageBytes, $"--layers must be 1–64, not {Layers}", errors);
        Check(PieceBytes == 0 || PieceBytes is >= 64 * 1024 and <= 64 * MiB, $"--piece-kib must be 64–65536, not {PieceBytes / 1024}", errors);
        Check(NodeUpBits > 0 && NodeDownBits > 0 && OriginBits > 0, "link rates must be positive", errors);
        Check(Zones is >= 1 and <= 64, $"--zones must be 1–64, not {Zones}", errors);
        Check(Regions >= 1 && Regions <= Zones, $"--regions must be 1–zones, not {Regions}", errors);
        Check(RttSeconds >= 0 && CrossZoneRttSeconds >= 0, "latencies must not be negative", errors);
        Check(LeavePercent is >= 0 and <= 90, $"--leave-percent must be 0–90, not {LeavePercent}", errors);
        Check(MaxPiecesInFlight is >= 1 and <= 64, $"--pieces-in-flight must be 1–64, not {MaxPiecesInFlight}", errors);
        Check(MaxConcurrentUploads is >= 1 and <= 1024, $"--upload-slots must be 1–1024, not {MaxConcurrentUploads}", errors);
        Check(MaxQueuedUploads is >= 0 and <= 4096, $"--upload-queue must be 0–4096, not {MaxQueuedUploads}", errors);
        Check(RefreshParentsSeconds >= 0, "--refresh-parents-s must not be negative", errors);
        Check(!MaxMinSharing || Nodes <= 200, "--max-min is for runs of at most 200 nodes (it recomputes every flow's rate at each flow start or end)", errors);
        Check(WaitRetrySeconds > 0 && MinRescheduleSeconds > 0, "--wait-retry-ms and --min-reschedule-ms must be positive", errors);
        Check(TimeLimitSeconds > 0, "--time-limit must be positive", errors);
        return errors;
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {Nodes} nodes, {ImageBytes / (double)MiB:0.#} MiB in {Layers} layers, nodes {Rate(NodeDownBits)} down / {Rate(NodeUpBits)} up, "
        + $"origin {Rate(OriginBits)}, {Zones} zones, RTT {RttSeconds * 1000:0.###} ms (+{CrossZoneRttSeconds * 1000:0.###} ms across zones), "
        + $"{LeavePercent:0.#} % leave, seed {Seed}");

    public static string Rate(double bits) => bits >= 1e9
        ? string.Create(CultureInfo.InvariantCulture, $"{bits / 1e9:0.##} Gbit/s")
        : string.Create(CultureInfo.InvariantCulture, $"{bits / 1e6:0.##} Mbit/s");

    private static void Check(bool ok, string error, List<string> errors)
    {
        if (!ok)
        {
            errors.Add(error);
        }
    }
}
