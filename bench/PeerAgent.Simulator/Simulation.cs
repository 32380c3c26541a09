using System.Diagnostics;
using System.Globalization;
using System.Text;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Swarm;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Simulator;

/// <summary>
/// A discrete-event simulation of one image pulled by every node at once through PeerAgent: the real
/// <see cref="SwarmScheduler"/> on a <see cref="SimulatedClock"/>, agents that follow its decisions as SwarmFill
/// does, and links that share bandwidth per flow. Deterministic for a given scenario (seed included).
/// </summary>
/// <remarks>
/// Bandwidth: every piece transfer is a flow from a source's uplink to a node's downlink. A flow's rate is the
/// smaller of its two fair shares, uplink ÷ flows leaving the source and downlink ÷ flows entering the target,
/// recomputed for every flow at both ends whenever a flow starts or ends there. That is local (cheap at 10,000
/// nodes) but not work-conserving: a share that one end cannot use is not handed to the other flows, so it
/// under-uses links a little compared with TCP's max-min fairness.
/// </remarks>
internal sealed partial class Simulation
{
    // The agent's fixed intervals (SwarmFill, OriginLane).
    internal const double LoopInterval = 0.25;
    internal const double MinRescheduleInterval = 0.5;
    internal const double BusyBackoff = 0.2;
    internal const double OriginPeerWait = 0.2;
    internal const int ParentFailureLimit = 2;

    private readonly Scenario _s;
    private readonly SimulatedClock _clock = new();
    private readonly SimNode[] _nodes;
    private readonly SimNode _origin;
    private readonly LayerTask[] _layers;
    private readonly Dictionary<string, int> _nodeByHost = new(StringComparer.Ordinal);
    private readonly Dictionary<Digest, int> _layerByDigest = [];
    private readonly PriorityQueue<SimEvent, (double Time, long Seq)> _queue = new();
    private readonly double _sweepInterval;
    private readonly Random _random;
    private MeteredScheduler? _scheduler;
    private long _seq;
    private int _flowIds;

    // Counters.
    private long _events;
    private long _originWireBytes;
    private long _originSkippedBytes;
    private long _peerWireBytes;
    private long _crossZoneBytes;
    private long _abortedBytes;
    private int _timeouts;
    private int _refusals;
    private int _parentDrops;
    private int _stallFallbacks;
    private int _revocations;
    private int _nodesDone;
    private int _nodesLeft;

    public Simulation(Scenario scenario)
    {
        var errors = scenario.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(scenario));
        }

        _s = scenario;
        _random = new Random(scenario.Seed);
        var options = new SchedulerOptions
        {
            FanOutLimit = scenario.FanOutLimit,
            BackToSourceQuota = scenario.BackToSourceQuota,
            StripeBackToSource = scenario.StripeBackToSource,
            ZoneLeaders = scenario.ZoneLeaders,
            CandidateParentCount = scenario.CandidateParentCount,
            CandidateSampleSize = scenario.CandidateSampleSize,
            WaitRetryInterval = TimeSpan.FromSeconds(scenario.WaitRetrySeconds),
        };
        _sweepInterval = options.SweepInterval.TotalSeconds;
        _scheduler = new MeteredScheduler(options, _clock, (ulong)scenario.Seed);
        _layers = BuildLayers(scenario);
        for (var i = 0; i < _layers.Length; i++)
        {
            _layerByDigest.Add(_layers[i].Digest, i);
        }

        _nodes = new SimNode[scenario.Nodes];
        for (var i = 0; i < _nodes.Length; i++)
        {
            var zone = i % scenario.Zones;
            var node = new SimNode(i, "n" + i.ToString(CultureInfo.InvariantCulture), zone, zone % scenario.Regions, scenario.NodeUpBits / 8, scenario.NodeDownBits / 8);
            node.Layers = new LayerDownload[_layers.Length];
            for (var l = 0; l < _layers.Length; l++)
            {
                node.Layers[l] = new LayerDownload(node, _layers[l]);
            }

            _nodes[i] = node;
            _nodeByHost.Add(node.HostId, i);
        }

        _origin = new SimNode(-1, "origin", -1, -1, scenario.OriginBits / 8, double.PositiveInfinity);
    }

    private static readonly bool Trace = Environment.GetEnvironmentVariable("SIM_TRACE") == "1";

    private double Now => _clock.Now;

    private MeteredScheduler Scheduler => _scheduler ?? throw new InvalidOperationException("the run is over");

    /// <summary>Cuts the image into equal layers (the last takes the remainder) and each layer into pieces.</summary>
    internal static LayerTask[] BuildLayers(Scenario s)
    {
        var layers = new LayerTask[s.Layers];
        var each = s.ImageBytes / s.Layers;
        for (var i = 0; i < layers.Length; i++)
        {
            var length = i == layers.Length - 1 ? s.ImageBytes - (each * (s.Layers - 1)) : each;
            var digest = Digest.Compute(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"simulated layer {i} of {s.ImageBytes} bytes, seed {s.Seed}")));
            long pieceSize;
            int count;
            long schedulerLength;
            if (s.PieceBytes == 0)
            {
                var layout = PieceLayout.For(length);
                (pieceSize, count, schedulerLength) = (layout.PieceSize, layout.PieceCount, length);
            }
            else
            {
                pieceSize = s.PieceBytes;
                count = (int)((length + pieceSize - 1) / pieceSize);

                // A length the product's rule cuts into exactly `count` pieces: 4 MiB pieces up to 500 of them, 64 MiB beyond.
                schedulerLength = count <= 500 ? count * (long)PieceLayout.MinPieceSize : count * (long)PieceLayout.MaxPieceSize;
                if (PieceLayout.For(schedulerLength).PieceCount != count)
                {
                    throw new InvalidOperationException($"no scheduler length gives {count} pieces");
                }
            }

            layers[i] = new LayerTask(i, digest, length, pieceSize, count, schedulerLength);
        }

        return layers;
    }

    /// <summary>Runs the scenario to the end (every node done or gone, or the time limit) and returns its figures.</summary>
    public SimulationResult Run()
    {
        var wall = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var violations = new List<string>();
        var random = _random;
        PlanLeavers(random);
        foreach (var node in _nodes)
        {
            Scheduler.RegisterHost(new PeerHost(node.HostId, node.HostId, "zone-" + node.Zone.ToString(CultureInfo.InvariantCulture),
                "region-" + node.Region.ToString(CultureInfo.InvariantCulture), "sim://" + node.HostId, _s.MaxConcurrentUploads));
            Enqueue(Now + (random.NextDouble() * _s.StartJitterSeconds), new SimEvent(EventKind.NodeStart, node.Index, 0));
            Enqueue(Now + (random.NextDouble() * _s.HeartbeatSeconds), new SimEvent(EventKind.Heartbeat, node.Index, 0));
        }

        Enqueue(_sweepInterval, new SimEvent(EventKind.Sweep, 0, 0));
        try
        {
            while (_nodesDone + _nodesLeft < _nodes.Length && _queue.TryDequeue(out var next, out var key))
            {
                if (key.Time > _s.TimeLimitSeconds)
                {
                    break;
                }

                _clock.Now = key.Time;
                _events++;
                Dispatch(next);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException or NullReferenceException)
        {
            violations.Add("the simulation threw at t=" + Now.ToString("0.###", CultureInfo.InvariantCulture) + " s: " + ex);
        }

        var simulated = Now;
        var runtime = wall.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var scheduler = Scheduler.Snapshot();

        // What the scheduler holds at the end (every peer a seed): the heap with it, then without it.
        var withScheduler = GC.GetTotalMemory(forceFullCollection: true);
        _scheduler = null;
        var withoutScheduler = GC.GetTotalMemory(forceFullCollection: true);
        CheckInvariants(violations);
        return SimulationResult.From(_s, this, scheduler, new RunStats(simulated, runtime, cpu, _events, Math.Max(0, withScheduler - withoutScheduler),
            Process.GetCurrentProcess().PeakWorkingSet64, withScheduler), violations);
    }

    internal IReadOnlyList<SimNode> Nodes => _nodes;
    internal IReadOnlyList<LayerTask> Layers => _layers;
    internal long OriginWireBytes => _originWireBytes;
    internal long OriginSkippedBytes => _originSkippedBytes;
    internal long PeerWireBytes => _peerWireBytes;
    internal long CrossZoneBytes => _crossZoneBytes;
    internal long AbortedBytes => _abortedBytes;
    internal int Timeouts => _timeouts;
    internal int Refusals => _refusals;
    internal int ParentDrops => _parentDrops;
    internal int StallFallbacks => _stallFallbacks;
    internal int Revocations => _revocations;
    internal int NodesLeft => _nodesLeft;

    private void PlanLeavers(Random random)
    {
        var leavers = (int)Math.Round(_nodes.Length * _s.LeavePercent / 100);
        var order = new int[_nodes.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        random.Shuffle(order);
        var pieces = 0;
        foreach (var layer in _layers)
        {
            pieces += layer.PieceCount;
        }

        for (var i = 0; i < leavers; i++)
        {
            _nodes[order[i]].LeaveAfterPieces = Math.Max(1, (int)(pieces * (0.1 + (0.8 * random.NextDouble()))));
        }
    }

    private void CheckInvariants(List<string> violations)
    {
        var unfinished = 0;
        long sent = 0;
        long received = 0;
        foreach (var node in _nodes)
        {
            sent += node.BytesSentToPeers;
            received += node.BytesReceivedFromPeers;
            if (node.Left)
            {
                continue;
            }

            if (double.IsNaN(node.DoneTime))
            {
                unfinished++;
                continue;
            }

            foreach (var download in node.Layers)
            {
                if (!download.Done || download.PeerBytes + download.OriginStoredBytes != download.Layer.Length)
                {
                    violations.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{node.HostId} layer {download.Layer.Index}: {download.Present}/{download.Layer.PieceCount} pieces, {download.PeerBytes} bytes from peers + {download.OriginStoredBytes} from the origin != {download.Layer.Length}"));
                }
            }
        }

        if (unfinished > 0)
        {
            violations.Add(string.Create(CultureInfo.InvariantCulture, $"{unfinished} nodes never completed (simulated time {Now:0.###} s, limit {_s.TimeLimitSeconds} s)"));
        }

        if (sent != received || sent != _peerWireBytes)
        {
            violations.Add(string.Create(CultureInfo.InvariantCulture, $"peer bytes do not add up: {sent} sent, {received} received, {_peerWireBytes} on the wire"));
        }
    }

    private void Enqueue(double time, SimEvent item) => _queue.Enqueue(item, (time, _seq++));

    private void Dispatch(SimEvent item)
    {
        switch (item.Kind)
        {
            case EventKind.NodeStart:
                StartNode(_nodes[item.Node]);
                break;
            case EventKind.LayerStart:
                StartLayer(_nodes[item.Node].Layers[item.Layer]);
                break;
            case EventKind.Leave:
                Leave(_nodes[item.Node]);
                break;
            case EventKind.Decision:
                OnDecision(_nodes[item.Node].Layers[item.Layer], (ScheduleDecision)item.Payload!);
                break;
            case EventKind.RequestArrives:
                OnRequestArrives((PieceRequest)item.Payload!);
                break;
            case EventKind.BusyReply:
                OnBusyReply((PieceRequest)item.Payload!);
                break;
            case EventKind.FlowEnd:
                OnFlowEnd((Flow)item.Payload!);
                break;
            case EventKind.PieceArrives:
                OnPieceArrives((PieceRequest)item.Payload!);
                break;
            case EventKind.OriginOpen:
                OnOriginOpen(_nodes[item.Node].Layers[item.Layer], item.Version, (int)item.Payload!);
                break;
            case EventKind.OriginWake:
                OnOriginWake(_nodes[item.Node].Layers[item.Layer], item.Version);
                break;
            case EventKind.Tick:
                OnTick(_nodes[item.Node].Layers[item.Layer]);
                break;
            case EventKind.Heartbeat:
                OnHeartbeat(_nodes[item.Node]);
                break;
            case EventKind.Sweep:
                OnSweep();
                break;
            default:
                throw new InvalidOperationException("unknown event " + item.Kind);
        }
    }

    private double Rtt(SimNode a, SimNode b) =>
        _s.RttSeconds + (a.Zone >= 0 && b.Zone >= 0 && a.Zone != b.Zone ? _s.CrossZoneRttSeconds : 0);

    private void OnHeartbeat(SimNode node)
    {
        if (!node.Alive)
        {
            return;
        }

        if (!Scheduler.Heartbeat(node.HostId, node.PeerUploads))
        {
            Scheduler.RegisterHost(new PeerHost(node.HostId, node.HostId, "zone-" + node.Zone.ToString(CultureInfo.InvariantCulture),
                "region-" + node.Region.ToString(CultureInfo.InvariantCulture), "sim://" + node.HostId, _s.MaxConcurrentUploads));
        }

        Enqueue(Now + _s.HeartbeatSeconds, new SimEvent(EventKind.Heartbeat, node.Index, 0));
    }

    private void OnSweep()
    {
        var result = Scheduler.Sweep();
        var seen = new HashSet<PeerRef>();
        foreach (var peer in result.Orphaned.Concat(result.RevokedBackToSource))
        {
            if (seen.Add(peer) && _layerByDigest.TryGetValue(peer.Task, out var layer) && _nodeByHost.TryGetValue(peer.HostId, out var index))
            {
                var download = _nodes[index].Layers[layer];
                if (download.Node.Alive && !download.Done)
                {
                    NextDecision(download);
                }
            }
        }

        Enqueue(Now + _sweepInterval, new SimEvent(EventKind.Sweep, 0, 0));
    }
}
