using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Core.Pieces;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Bench.Scheduler;

/// <summary>
/// Scheduler decision rate and memory per peer for one task of 10,000 peers (BRIEF §5 target: ≥ 50,000
/// decisions/s on one core, ≤ 2 KiB per peer). Prints one JSON line last.
/// Usage: PeerAgent.Bench.Scheduler [peers=10000] [seconds=3] [blobMiB=2048] [seed=1]
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var peers = Arg(args, 0, 10_000);
        var seconds = Arg(args, 1, 3);
        var blobBytes = Arg(args, 2, 2048) * 1024L * 1024;
        var seed = Arg(args, 3, 1);
        PinToOneCore();

        var random = new Random(seed);
        var digest = SwarmSetup.TaskDigest;
        var layout = PieceLayout.For(blobBytes);
        var bitmaps = SwarmSetup.RandomBitmaps(random, peers, layout.PieceCount);
        var options = SwarmSetup.Options();

        // Memory: everything the scheduler holds for the swarm (host names, addresses, bitmaps, pools, graph).
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var scheduler = new SwarmScheduler(options, TimeProvider.System, NullLogger<SwarmScheduler>.Instance, seed: (ulong)seed);
        var hostIds = SwarmSetup.Populate(scheduler, blobBytes, bitmaps);

        // One decision per peer with commit builds a realistic parent graph (and fan-out) before timing.
        var buildWatch = Stopwatch.StartNew();
        var assigned = SwarmSetup.ScheduleEachOnce(scheduler, hostIds);
        buildWatch.Stop();
        var allocatedAfter = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(bitmaps);
        var retainedAfter = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(scheduler);

        // Selection only (the pure decision, no commit): random children, bounded count and time.
        var picks = SwarmSetup.RandomPicks(random, peers, 1 << 16);
        var selectIterations = 0L;
        var selectFound = 0L;
        var watch = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(seconds);
        while (watch.Elapsed < limit && selectIterations < 50_000_000)
        {
            for (var i = 0; i < 1024; i++)
            {
                selectFound += scheduler.SelectParentCount(digest, hostIds[picks[(int)(selectIterations & 0xFFFF)]], options.CandidateParentCount);
                selectIterations++;
            }
        }

        var selectSeconds = watch.Elapsed.TotalSeconds;

        // Full reschedule (select + detach old parents + attach new ones + decision object), as the stream service calls it.
        var scheduleIterations = 0L;
        var scheduleFound = 0L;
        watch.Restart();
        while (watch.Elapsed < limit && scheduleIterations < 50_000_000)
        {
            for (var i = 0; i < 1024; i++)
            {
                scheduleFound += scheduler.Schedule(digest, hostIds[picks[(int)(scheduleIterations & 0xFFFF)]]).Parents.Count;
                scheduleIterations++;
            }
        }

        var scheduleSeconds = watch.Elapsed.TotalSeconds;

        var json = string.Create(CultureInfo.InvariantCulture,
            $"{{\"peers\":{peers},\"regions\":{SwarmSetup.Regions},\"zones\":{SwarmSetup.Regions * SwarmSetup.ZonesPerRegion},\"nodes\":{peers},\"pieces\":{layout.PieceCount},"
            + $"\"fan_out\":{options.FanOutLimit},\"sample_size\":{options.CandidateSampleSize},\"parents_per_decision\":{options.CandidateParentCount},"
            + $"\"select_decisions_per_s\":{selectIterations / selectSeconds:F0},\"select_iterations\":{selectIterations},\"select_avg_parents\":{(double)selectFound / selectIterations:F2},"
            + $"\"schedule_decisions_per_s\":{scheduleIterations / scheduleSeconds:F0},\"schedule_iterations\":{scheduleIterations},\"schedule_avg_parents\":{(double)scheduleFound / scheduleIterations:F2},"
            + $"\"initial_schedule_per_s\":{peers / buildWatch.Elapsed.TotalSeconds:F0},\"initial_avg_parents\":{(double)assigned / peers:F2},"
            + $"\"retained_bytes_per_peer\":{(retainedAfter - retainedBefore) / (double)peers:F0},\"allocated_bytes_per_peer\":{(allocatedAfter - allocatedBefore) / (double)peers:F0},"
            + $"\"cores\":{Environment.ProcessorCount}}}");
        Console.WriteLine(json);
        return 0;
    }

    private static void PinToOneCore()
    {
        try
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
            {
                Process.GetCurrentProcess().ProcessorAffinity = 1;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformNotSupportedException)
        {
            Console.Error.WriteLine("could not pin to one core: " + e.Message);
        }
    }

    private static int Arg(string[] args, int index, int fallback) =>
        args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
}
