using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Bench.Scheduler;
using PeerAgent.Core.Pieces;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Bench.Micro;

/// <summary>
/// Parent decisions of the real SwarmScheduler for one task of 10,000 peers (BRIEF §5: ≥ 50,000 decisions/s on one
/// core), on the swarm of bench/PeerAgent.Bench.Scheduler (SwarmSetup: 3 regions × 3 zones, a 2 GiB blob of 256
/// pieces, random bitmaps, one decision per peer already made). Each operation decides for the next of 65,536 random
/// children; decisions/s = 1 s ÷ Mean, on one thread.
/// </summary>
[MemoryDiagnoser]
[OperationsPerSecond]
public class SchedulerBenchmarks
{
    private const long BlobBytes = 2048L * 1024 * 1024;
    private const int Seed = 1;

    private SwarmScheduler _scheduler = null!;
    private SchedulerOptions _options = null!;
    private string[] _hostIds = [];
    private int[] _picks = [];
    private int _next;

    [Params(10_000)]
    public int Peers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(Seed);
        var bitmaps = SwarmSetup.RandomBitmaps(random, Peers, PieceLayout.For(BlobBytes).PieceCount);
        _options = SwarmSetup.Options();
        _scheduler = new SwarmScheduler(_options, TimeProvider.System, NullLogger<SwarmScheduler>.Instance, seed: Seed);
        _hostIds = SwarmSetup.Populate(_scheduler, BlobBytes, bitmaps);
        SwarmSetup.ScheduleEachOnce(_scheduler, _hostIds);
        _picks = SwarmSetup.RandomPicks(random, Peers, 1 << 16);
    }

    /// <summary>The pure decision: rank candidates and count the parents it would give (no commit).</summary>
    [Benchmark]
    public int SelectParents() => _scheduler.SelectParentCount(SwarmSetup.TaskDigest, NextChild(), _options.CandidateParentCount);

    /// <summary>A full reschedule as the stream service calls it: select, detach the old parents, attach the new, build the decision.</summary>
    [Benchmark]
    public int Schedule() => _scheduler.Schedule(SwarmSetup.TaskDigest, NextChild()).Parents.Count;

    private string NextChild()
    {
        var id = _hostIds[_picks[_next]];
        _next = (_next + 1) & (_picks.Length - 1);
        return id;
    }
}
