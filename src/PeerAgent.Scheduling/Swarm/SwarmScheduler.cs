using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Swarm;

namespace PeerAgent.Scheduling.Swarm;

/// <summary>
/// The scheduler's transport-independent core: soft state about hosts, tasks and peers, parent selection,
/// back-to-source grants and dead-host expiry. The Announce stream service calls it; nothing here knows gRPC.
/// </summary>
/// <remarks>
/// <para>Surface for the stream service, in the order an agent uses it:</para>
/// <list type="number">
/// <item><see cref="RegisterHost"/> when an agent connects, then <see cref="Heartbeat"/> periodically (false: register again).</item>
/// <item><see cref="Announce"/> when a download starts, or again with its bitmap after a scheduler restart.</item>
/// <item><see cref="Schedule"/> for parents, back-to-source or wait; again on a reschedule request or after a wait.</item>
/// <item>Reports: <see cref="PieceFinished"/>, <see cref="PieceFailed"/>, <see cref="ParentCorrupt"/>, <see cref="ParentFailed"/>,
/// <see cref="PublishPieceDigests"/>, <see cref="DownloadFinished"/>, <see cref="DownloadFailed"/>, <see cref="Leave"/>.</item>
/// <item><see cref="Sweep"/> from a timer (about once a second): drops silent hosts, revokes stalled back-to-source
/// slots, and lists the peers that need a new decision pushed to them.</item>
/// </list>
/// <para>All state sits behind one lock. A decision takes microseconds, so one lock keeps the invariants
/// (no cycles, fan-out, quota) simple; scale-out is by sharding tasks over replicas, not by finer locks.</para>
/// </remarks>
internal sealed class SwarmScheduler
{
    // Score weights: see docs/scheduler.md. Pieces and topology dominate; load terms break ties and spread children.
    internal const double PieceWeight = 0.40;
    internal const double TopologyWeight = 0.35;
    internal const double FreeSlotWeight = 0.15;
    internal const double FanOutWeight = 0.10;
    internal const double SameNode = 1.0;
    internal const double SameZone = 0.6;
    internal const double SameRegion = 0.3;

    private readonly Lock _lock = new();
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, SwarmHost> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SwarmHost>> _hostsByNode = new(StringComparer.Ordinal);
    private readonly Dictionary<Digest, SwarmTask> _tasks = new();
    private readonly Dictionary<string, string> _interned = new(StringComparer.Ordinal);
    private readonly List<PeerRef> _orphaned = new();
    private readonly List<PeerRef> _revoked = new();
    private readonly List<SwarmPeer> _stack = new();
    private readonly SwarmPeer?[] _best;
    private readonly double[] _bestScores;
    private ulong _rng;
    private int _stamp;

    // Cycle rule of the decision in progress (see SelectCore).
    private bool _descendantsExact;
    private int _depthLimit;

    // Whether the last SelectCore found its parents outside the child's zone (see ReachOf).
    private bool _leftZone;

    public SwarmScheduler(SchedulerOptions options, TimeProvider time, ILogger<SwarmScheduler> logger, ulong seed = 0x9E3779B97F4A7C15)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        options.ThrowIfInvalid();
        _options = options;
        _time = time;
        _logger = logger;
        _rng = seed | 1;
        _best = new SwarmPeer?[64];
        _bestScores = new double[64];
    }

    public SchedulerOptions Options => _options;

    /// <summary>Registers an agent or refreshes what it says about itself; counts as a heartbeat.</summary>
    public void RegisterHost(PeerHost info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentException.ThrowIfNullOrEmpty(info.HostId);
        lock (_lock)
        {
            var region = string.IsNullOrEmpty(info.Region) ? null : Intern(info.Region);
            var zoneKey = string.IsNullOrEmpty(info.Zone) ? null : Intern((info.Region ?? "") + "/" + info.Zone);
            var node = Intern(info.NodeName ?? "");
            if (!_hosts.TryGetValue(info.HostId, out var host))
            {
                host = new SwarmHost(info.HostId);
                _hosts.Add(info.HostId, host);
            }
            else if (!ReferenceEquals(host.NodeName, node) || !ReferenceEquals(host.ZoneKey, zoneKey) || !ReferenceEquals(host.Region, region))
            {
                // Topology moved: take the host's peers out of the pools and leader places keyed by the old labels first.
                RemoveFromNodeIndex(host);
                for (var i = 0; i < host.Peers.Count; i++)
                {
                    if (host.Peers[i].InPools)
                    {
                        host.Peers[i].Task.RemoveFromPools(host.Peers[i]);
                    }

                    host.Peers[i].Task.RemoveZoneLeader(host.Peers[i], host.ZoneKey);
                }
            }
            else
            {
                RemoveFromNodeIndex(host);
            }

            host.NodeName = node;
            host.Region = region;
            host.ZoneKey = zoneKey;
            host.Zone = info.Zone ?? "";
            host.PeerAddress = info.PeerAddress ?? "";
            host.UploadCapacity = Math.Max(0, info.UploadCapacity);
            host.LastHeartbeat = _time.GetUtcNow();
            if (!_hostsByNode.TryGetValue(node, out var onNode))
            {
                onNode = new List<SwarmHost>(1);
                _hostsByNode.Add(node, onNode);
            }

            onNode.Add(host);
            for (var i = 0; i < host.Peers.Count; i++)
            {
                Refresh(host.Peers[i]);
            }

            SchedulerLog.HostRegistered(_logger, host.Id, node, host.Zone, region ?? "", host.UploadCapacity);
        }
    }

    /// <summary>Keeps a host alive and updates its upload load; false when the host is unknown and must register again.</summary>
    public bool Heartbeat(string hostId, int currentUploads)
    {
        lock (_lock)
        {
            if (!_hosts.TryGetValue(hostId, out var host))
            {
                return false;
            }

            host.LastHeartbeat = _time.GetUtcNow();
            host.CurrentUploads = Math.Max(0, currentUploads);
            return true;
        }
    }

    /// <summary>
    /// A host joins a task (a download starts) or re-announces what it holds. <paramref name="bitmap"/> is the
    /// byte form of <see cref="PieceBitmap"/>, empty for none; <paramref name="complete"/> marks a finished, verified blob.
    /// <paramref name="moved"/>: the download comes from a replica that went away, so a task it creates is being taken
    /// over (<see cref="SchedulerOptions.TakeoverGrace"/>); <paramref name="fromSource"/>: it is reading the origin on
    /// that replica's grant, and gets a free back-to-source slot back.
    /// </summary>
    public AnnounceResult Announce(
        Digest digest, long length, string hostId, ReadOnlySpan<byte> bitmap = default, bool complete = false, bool moved = false, bool fromSource = false)
    {
        lock (_lock)
        {
            if (!_hosts.TryGetValue(hostId, out var host))
            {
                return AnnounceResult.UnknownHost;
            }

            var created = false;
            if (!_tasks.TryGetValue(digest, out var task))
            {
                task = new SwarmTask(digest, length, _options.BackToSourceQuota);
                _tasks.Add(digest, task);
                created = true;
            }
            else if (task.Layout.Length != length)
            {
                SchedulerLog.LengthMismatch(_logger, digest, hostId, length, task.Layout.Length);
                return AnnounceResult.LengthMismatch;
            }

            PieceBitmap pieces;
            if (complete)
            {
                pieces = new PieceBitmap(task.PieceCount);
                for (var i = 0; i < task.PieceCount; i++)
                {
                    pieces.Set(i);
                }
            }
            else if (bitmap.IsEmpty)
            {
                pieces = new PieceBitmap(task.PieceCount);
            }
            else if (bitmap.Length != PieceBitmap.ByteLength(task.PieceCount))
            {
                return AnnounceResult.BadBitmap;
            }
            else
            {
                try
                {
                    pieces = PieceBitmap.FromBytes(task.PieceCount, bitmap);
                }
                catch (ArgumentException)
                {
                    return AnnounceResult.BadBitmap;
                }
            }

            var now = _time.GetUtcNow();
            if (task.Peers.TryGetValue(hostId, out var peer))
            {
                // A re-announce replaces what we knew; availability follows.
                AdjustAvailability(task, peer.Pieces, -1);
                peer.Pieces = pieces;
            }
            else
            {
                peer = new SwarmPeer(task, host, pieces);
                task.Peers.Add(hostId, peer);
                host.Peers.Add(peer);
            }

            AdjustAvailability(task, pieces, +1);
            peer.LastProgress = now;
            if (created && !complete && (moved || fromSource))
            {
                // A download already under way re-creates the task: its replica went away and this one takes over.
                task.TakeoverUntil = now + _options.TakeoverGrace;
            }

            if (complete || pieces.IsComplete)
            {
                MarkSucceeded(peer);
            }
            else if (peer.State == PeerState.Succeeded)
            {
                peer.State = PeerState.Running;
            }

            if (fromSource && peer.State != PeerState.Succeeded && peer.BackToSourceSlot < 0 && Array.IndexOf(task.BackToSource, null) is var free and >= 0)
            {
                // It is reading the origin already: the slot goes back to it rather than to a second reader.
                Grant(task, peer, free, now);
            }

            Refresh(peer);
            SchedulerLog.PeerAnnounced(_logger, digest, hostId, pieces.SetCount, task.PieceCount);
            return AnnounceResult.Registered;
        }
    }

    /// <summary>
    /// Decides what a child does next: parents (replacing its current ones), back-to-source, or wait.
    /// Also the answer to a reschedule request.
    /// </summary>
    public ScheduleDecision Schedule(Digest digest, string hostId)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var child))
            {
                return ScheduleDecision.Unknown;
            }

            if (child.State == PeerState.Succeeded)
            {
                return ScheduleDecision.Finished;
            }

            var now = _time.GetUtcNow();
            ReviewBackToSource(task, now);
            var takingOver = now < task.TakeoverUntil;
            if (_options.StripeBackToSource && child.BackToSourceSlot < 0 && !takingOver)
            {
                // Striping fills every slot up front, but never for a range the swarm already holds.
                for (var slot = 0; slot < task.BackToSource.Length; slot++)
                {
                    if (task.BackToSource[slot] is null && !task.Covers(task.StripeOf(slot, striped: true)))
                    {
                        Grant(task, child, slot, now);
                        break;
                    }
                }
            }

            DetachFromParents(child);
            var reach = ReachOf(task, child);
            var count = SelectCore(task, child, _options.CandidateParentCount, now, reach);
            if (count > 0 && _leftZone && reach == Reach.MayLead)
            {
                // Its parents are outside its zone: it pulls the blob in for the zone.
                LeadZone(task, child);
            }

            var parents = count == 0 ? [] : new ParentCandidate[count];
            for (var i = 0; i < count; i++)
            {
                var parent = _best[i]!;
                parents[i] = Candidate(parent, _bestScores[i]);
                child.AddParent(parent);
                parent.AddChild(child);
                Refresh(parent);
                _best[i] = null;
            }

            SettleDepth(child);
            if (child.BackToSourceSlot < 0 && count == 0 && reach != Reach.Zone && !takingOver)
            {
                var slot = Array.IndexOf(task.BackToSource, null);
                if (slot >= 0)
                {
                    Grant(task, child, slot, now);
                }
            }

            if (child.BackToSourceSlot >= 0)
            {
                return ScheduleDecision.FromSource(task.StripeOf(child.BackToSourceSlot, _options.StripeBackToSource), parents);
            }

            if (count > 0)
            {
                return ScheduleDecision.WithParents(parents);
            }

            SchedulerLog.PeerWaits(_logger, digest, hostId);
            return ScheduleDecision.Wait(_options.WaitRetryInterval);
        }
    }

    /// <summary>
    /// Ranks up to <paramref name="max"/> parents for a child without assigning them (best first).
    /// Bounded cost: see <see cref="SelectCore"/>.
    /// </summary>
    public IReadOnlyList<ParentCandidate> SelectParents(Digest digest, string hostId, int max)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var child))
            {
                return [];
            }

            var count = SelectCore(task, child, max, _time.GetUtcNow(), ReachOf(task, child));
            var result = new ParentCandidate[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = Candidate(_best[i]!, _bestScores[i]);
                _best[i] = null;
            }

            return result;
        }
    }

    /// <summary>Allocation-free <see cref="SelectParents(Digest, string, int)"/> for benchmarks: the number of parents found.</summary>
    internal int SelectParentCount(Digest digest, string hostId, int max)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var child))
            {
                return 0;
            }

            var count = SelectCore(task, child, max, _time.GetUtcNow(), ReachOf(task, child));
            Array.Clear(_best, 0, count);
            return count;
        }
    }

    /// <summary>A piece is stored and verified; counts as back-to-source progress.</summary>
    public void PieceFinished(Digest digest, string hostId, int pieceIndex)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var peer) || (uint)pieceIndex >= (uint)task.PieceCount)
            {
                return;
            }

            peer.LastProgress = _time.GetUtcNow();
            if (!peer.Pieces[pieceIndex])
            {
                peer.Pieces.Set(pieceIndex);
                task.Availability[pieceIndex]++;
                if (peer.Pieces.SetCount == 1)
                {
                    Refresh(peer);
                }
            }
        }
    }

    /// <summary>A piece from <paramref name="parentHostId"/> failed (transfer or digest); enough of these drop that parent.</summary>
    /// <returns>True when the parent was dropped and the child should be rescheduled.</returns>
    public bool PieceFailed(Digest digest, string hostId, int pieceIndex, string parentHostId)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var child) || (uint)pieceIndex >= (uint)task.PieceCount)
            {
                return false;
            }

            var failures = child.CountFailure(parentHostId);
            return failures >= _options.ParentFailureLimit && DropParent(task, child, parentHostId, failures);
        }
    }

    /// <summary>
    /// A piece from <paramref name="parentHostId"/> did not match its sha256: that parent's copy is bad (or it lies),
    /// so it leaves the task for every child, not only this one, and frees any back-to-source slot it held (a
    /// finished seed otherwise keeps its slot, and children would wait on it). Its children get new parents at the
    /// next sweep. The parent may join again by announcing anew.
    /// </summary>
    /// <returns>True when the parent was removed.</returns>
    public bool ParentCorrupt(Digest digest, string hostId, string parentHostId)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var child)
                || !task.Peers.TryGetValue(parentHostId, out var parent)
                || ReferenceEquals(parent, child))
            {
                return false;
            }

            SchedulerLog.ParentCorrupt(_logger, digest, hostId, parentHostId);
            RemovePeer(task, parent);
            return true;
        }
    }

    /// <summary>The child gave up on a parent (connection lost, too slow): counts a failure and drops it at once.</summary>
    public void ParentFailed(Digest digest, string hostId, string parentHostId)
    {
        lock (_lock)
        {
            if (TryGetPeer(digest, hostId, out var task, out var child))
            {
                DropParent(task, child, parentHostId, child.CountFailure(parentHostId));
            }
        }
    }

    /// <summary>sha256 of every piece, published by a back-to-source peer so children can verify pieces from peers.</summary>
    public bool PublishPieceDigests(Digest digest, string hostId, IReadOnlyList<Digest> pieceDigests)
    {
        ArgumentNullException.ThrowIfNull(pieceDigests);
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out _))
            {
                return false;
            }

            if (pieceDigests.Count != task.PieceCount)
            {
                SchedulerLog.PieceDigestCountMismatch(_logger, digest, hostId, pieceDigests.Count, task.PieceCount);
                return false;
            }

            task.PieceDigests ??= pieceDigests;
            return true;
        }
    }

    /// <summary>Piece digests of a task, or null while no back-to-source peer has published them.</summary>
    public IReadOnlyList<Digest>? PieceDigestsOf(Digest digest)
    {
        lock (_lock)
        {
            return _tasks.TryGetValue(digest, out var task) ? task.PieceDigests : null;
        }
    }

    /// <summary>The whole blob verified: the peer becomes a seed and releases its parents.</summary>
    public void DownloadFinished(Digest digest, string hostId)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out var task, out var peer))
            {
                return;
            }

            for (var i = 0; i < task.PieceCount; i++)
            {
                if (!peer.Pieces[i])
                {
                    peer.Pieces.Set(i);
                    task.Availability[i]++;
                }
            }

            MarkSucceeded(peer);
            DetachFromParents(peer);
            SettleDepth(peer);
            Refresh(peer);
            SchedulerLog.DownloadFinished(_logger, digest, hostId);
        }
    }

    /// <summary>The download failed; the peer leaves the swarm (its partial pieces are not trusted as a source).</summary>
    public void DownloadFailed(Digest digest, string hostId)
    {
        lock (_lock)
        {
            if (TryGetPeer(digest, hostId, out var task, out var peer))
            {
                SchedulerLog.DownloadFailed(_logger, digest, hostId);
                RemovePeer(task, peer);
            }
        }
    }

    /// <summary>The host no longer serves this task (stream closed, blob evicted).</summary>
    public void Leave(Digest digest, string hostId)
    {
        lock (_lock)
        {
            if (TryGetPeer(digest, hostId, out var task, out var peer))
            {
                RemovePeer(task, peer);
            }
        }
    }

    /// <summary>Drops hosts silent for longer than the expiry, revokes stalled back-to-source slots, and reports what changed.</summary>
    public SweepResult Sweep()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var expired = new List<string>();
            foreach (var host in _hosts.Values)
            {
                if (IsExpired(host, now))
                {
                    expired.Add(host.Id);
                }
            }

            for (var i = 0; i < expired.Count; i++)
            {
                var host = _hosts[expired[i]];
                var peerCount = host.Peers.Count;
                while (host.Peers.Count > 0)
                {
                    var peer = host.Peers[^1];
                    RemovePeer(peer.Task, peer);
                }

                _hosts.Remove(host.Id);
                RemoveFromNodeIndex(host);
                SchedulerLog.HostExpired(_logger, host.Id, now - host.LastHeartbeat, peerCount);
            }

            foreach (var task in _tasks.Values)
            {
                ReviewBackToSource(task, now);
            }

            var orphaned = new List<PeerRef>(_orphaned.Count);
            for (var i = 0; i < _orphaned.Count; i++)
            {
                var orphan = _orphaned[i];
                if (_tasks.TryGetValue(orphan.Task, out var task) && task.Peers.ContainsKey(orphan.HostId) && !orphaned.Contains(orphan))
                {
                    orphaned.Add(orphan);
                }
            }

            _orphaned.Clear();
            var revoked = _revoked.ToArray();
            _revoked.Clear();
            return new SweepResult(expired, orphaned, revoked);
        }
    }

    /// <summary>Whether the scheduler currently knows this host.</summary>
    public bool HasHost(string hostId)
    {
        lock (_lock)
        {
            return _hosts.ContainsKey(hostId);
        }
    }

    /// <summary>Snapshot of one peer for diagnostics and tests; null when unknown.</summary>
    public PeerSnapshot? Inspect(Digest digest, string hostId)
    {
        lock (_lock)
        {
            if (!TryGetPeer(digest, hostId, out _, out var peer))
            {
                return null;
            }

            var parents = new string[peer.ParentCount];
            for (var i = 0; i < parents.Length; i++)
            {
                parents[i] = peer.ParentAt(i).Host.Id;
            }

            var children = new string[peer.ChildCount];
            for (var i = 0; i < children.Length; i++)
            {
                children[i] = peer.ChildAt(i).Host.Id;
            }

            return new PeerSnapshot(peer.State, peer.BackToSourceSlot, peer.Pieces.SetCount, parents, children, peer.ZoneLeader);
        }
    }

    /// <summary>Hosts, tasks and peers known right now; O(tasks), meant for a gauge refreshed by the sweep.</summary>
    public SwarmCounts Counts()
    {
        lock (_lock)
        {
            var peers = 0;
            foreach (var task in _tasks.Values)
            {
                peers += task.Peers.Count;
            }

            return new SwarmCounts(_hosts.Count, _tasks.Count, peers);
        }
    }

    /// <summary>Number of peers in a task (0 when unknown).</summary>
    public int PeerCount(Digest digest)
    {
        lock (_lock)
        {
            return _tasks.TryGetValue(digest, out var task) ? task.Peers.Count : 0;
        }
    }

    /// <summary>
    /// Sets up the no-cycle rule for one decision. A leaf has no descendants. Otherwise the child's subtree is
    /// walked and stamped up to a budget (twice the sample size): when the walk completes, exactly the
    /// descendants are excluded. When the subtree is larger, the unwalked part is excluded by depth instead:
    /// a candidate at least as deep as the child's shallowest child, less one, is refused. That is
    /// conservative (it may refuse a harmless parent) but O(1) per candidate however large the subtree.
    /// </summary>
    private void PrepareCycleRule(SwarmPeer child, int stamp)
    {
        child.DescendantStamp = stamp;
        if (child.ChildCount == 0)
        {
            _descendantsExact = true;
            return;
        }

        var minChildDepth = int.MaxValue;
        for (var i = 0; i < child.ChildCount; i++)
        {
            minChildDepth = Math.Min(minChildDepth, child.ChildAt(i).Depth);
        }

        _depthLimit = minChildDepth - 1;
        _descendantsExact = MarkDescendants(child, stamp, 2 * _options.CandidateSampleSize);
    }

    /// <summary>
    /// Ranks candidate parents into <see cref="_best"/>. Cost is bounded by the sample size, not by the task's
    /// size. Zone first (<paramref name="reach"/> other than <see cref="Reach.Mixed"/>): other hosts on the child's
    /// node and a random window of its zone pool (two when the zone is larger than the sample and too few usable
    /// parents turned up); only when they offer nothing and the child may go further, a window of its region
    /// pool, then of the whole task (plus one more window when too few usable parents turned up);
    /// <see cref="_leftZone"/> says whether the parents came from outside the zone. Mixed: the node, then a
    /// random window of the zone pool (half the sample), of the region pool (a quarter), and of the whole task
    /// (the rest, plus one more window when too few usable parents turned up). Pools hold only peers that can be
    /// offered (have or will get pieces, lead their zone, below fan-out). Cycle check: the child's descendants are stamped once (cost: their number), then each
    /// candidate is rejected in O(1).
    /// </summary>
    private int SelectCore(SwarmTask task, SwarmPeer child, int max, DateTimeOffset now, Reach reach)
    {
        _leftZone = false;
        max = Math.Clamp(max, 0, _best.Length);
        if (max == 0)
        {
            return 0;
        }

        var stamp = ++_stamp;
        PrepareCycleRule(child, stamp);
        var childWords = task.ChildWords.AsSpan();
        BitmapWords.Load(child.Pieces, childWords);
        var missing = task.PieceCount - child.Pieces.SetCount;
        if (missing == 0)
        {
            return 0;
        }

        var found = 0;
        var sample = _options.CandidateSampleSize;
        var examined = 0;

        if (_hostsByNode.TryGetValue(child.Host.NodeName, out var onNode))
        {
            for (var i = 0; i < onNode.Count && examined < sample; i++)
            {
                if (!ReferenceEquals(onNode[i], child.Host) && task.Peers.TryGetValue(onNode[i].Id, out var peer) && peer.InPools)
                {
                    examined++;
                    Consider(task, child, peer, stamp, missing, now, max, ref found);
                }
            }
        }

        if (reach == Reach.Mixed)
        {
            examined += ScanWindow(task, child, task.ZonePool(child.Host.ZoneKey), sample / 2, stamp, missing, now, max, ref found);
            examined += ScanWindow(task, child, task.RegionPool(child.Host.Region), sample / 4, stamp, missing, now, max, ref found);
            ScanWindow(task, child, task.All, Math.Max(sample / 4, sample - examined), stamp, missing, now, max, ref found);
            if (found < max)
            {
                ScanWindow(task, child, task.All, sample, stamp, missing, now, max, ref found);
            }

            return found;
        }

        // Zone first: the next ring is read only when the nearer one offers nothing, so a child never mixes a
        // cross-zone parent with same-zone ones (its rarest-first picker would pull zone-held pieces across).
        var zonePool = task.ZonePool(child.Host.ZoneKey);
        ScanWindow(task, child, zonePool, sample, stamp, missing, now, max, ref found);
        if (found < max && zonePool is not null && zonePool.Count > sample)
        {
            // A zone larger than the sample: one more random window before settling for fewer parents.
            ScanWindow(task, child, zonePool, sample, stamp, missing, now, max, ref found);
        }

        if (found > 0 || reach == Reach.Zone)
        {
            return found;
        }

        ScanWindow(task, child, task.RegionPool(child.Host.Region), sample, stamp, missing, now, max, ref found);
        if (found == 0)
        {
            ScanWindow(task, child, task.All, sample, stamp, missing, now, max, ref found);
            if (found < max)
            {
                ScanWindow(task, child, task.All, sample, stamp, missing, now, max, ref found);
            }
        }

        _leftZone = found > 0;
        return found;
    }

    /// <summary>
    /// How far a child may look for parents. Unlabelled children, and every child when <see cref="SchedulerOptions.ZoneLeaders"/>
    /// is 0, mix all rings by score. A zone leader reads its zone, then its region, then everything. Any other child
    /// reads only its zone while its zone has its leaders; it becomes one (it may lead) only when it finds nothing
    /// in its zone and the zone has fewer than <see cref="SchedulerOptions.ZoneLeaders"/>.
    /// </summary>
    private Reach ReachOf(SwarmTask task, SwarmPeer child)
    {
        if (_options.ZoneLeaders == 0 || child.Host.ZoneKey is not { } zone)
        {
            return Reach.Mixed;
        }

        if (child.ZoneLeader)
        {
            return Reach.Leader;
        }

        return task.ZoneLeaders(zone) < _options.ZoneLeaders ? Reach.MayLead : Reach.Zone;
    }

    private void LeadZone(SwarmTask task, SwarmPeer peer)
    {
        task.AddZoneLeader(peer);
        Refresh(peer);
        SchedulerLog.ZoneLeader(_logger, task.Digest, peer.Host.Id, peer.Host.Zone);
    }

    private int ScanWindow(SwarmTask task, SwarmPeer child, PeerPool? pool, int budget, int stamp, int missing, DateTimeOffset now, int max, ref int found)
    {
        if (pool is null || pool.Count == 0 || budget <= 0)
        {
            return 0;
        }

        var count = pool.Count;
        var take = Math.Min(budget, count);
        var start = count <= budget ? 0 : (int)(NextRandom() % (ulong)count);
        var examined = 0;
        for (var i = 0; i < take; i++)
        {
            var index = start + i;
            if (index >= count)
            {
                index -= count;
            }

            var peer = pool[index];
            if (peer.SeenStamp != stamp)
            {
                examined++;
                Consider(task, child, peer, stamp, missing, now, max, ref found);
            }
        }

        return examined;
    }

    private void Consider(SwarmTask task, SwarmPeer child, SwarmPeer candidate, int stamp, int missing, DateTimeOffset now, int max, ref int found)
    {
        candidate.SeenStamp = stamp;
        var score = Score(task, child, candidate, stamp, missing, now);
        if (score <= 0)
        {
            return;
        }

        // Insertion into a tiny sorted array: max is a handful, so this beats any heap.
        var position = found < max ? found : max - 1;
        if (found == max && score <= _bestScores[position])
        {
            return;
        }

        while (position > 0 && _bestScores[position - 1] < score)
        {
            _best[position] = _best[position - 1];
            _bestScores[position] = _bestScores[position - 1];
            position--;
        }

        _best[position] = candidate;
        _bestScores[position] = score;
        if (found < max)
        {
            found++;
        }
    }

    /// <summary>Score in (0, 1], or 0 when a hard rule rules the candidate out.</summary>
    internal double Score(SwarmTask task, SwarmPeer child, SwarmPeer candidate, int stamp, int missing, DateTimeOffset now)
    {
        var host = candidate.Host;
        if (ReferenceEquals(candidate, child) || ReferenceEquals(host, child.Host) || candidate.DescendantStamp == stamp || IsExpired(host, now))
        {
            return 0;
        }

        if (!_descendantsExact && candidate.Depth >= _depthLimit)
        {
            return 0;
        }

        var free = host.FreeUploadSlots;
        var children = candidate.ChildCount - (child.HasParent(candidate) ? 1 : 0);
        if (free <= 0 || children >= _options.FanOutLimit)
        {
            return 0;
        }

        var failures = child.FailuresFrom(host.Id);
        if (failures >= _options.ParentFailureLimit)
        {
            return 0;
        }

        int useful;
        if (candidate.State == PeerState.Succeeded || candidate.ZoneLeader)
        {
            // A finished peer has every piece; a zone leader will (its parents or the origin bring them, and the
            // agent's SyncPieces stream passes each on as it lands).
            useful = missing;
        }
        else
        {
            var words = task.CandidateWords.AsSpan();
            BitmapWords.Load(candidate.Pieces, words);
            if (candidate.BackToSourceSlot >= 0)
            {
                // A back-to-source peer will have its whole stripe; children may attach before the pieces land.
                var stripe = task.StripeOf(candidate.BackToSourceSlot, _options.StripeBackToSource);
                BitmapWords.SetRange(words, stripe.Start, stripe.End);
            }

            useful = BitmapWords.CountAndNot(words, task.ChildWords);
        }

        if (useful == 0)
        {
            return 0;
        }

        double topology;
        if (ReferenceEquals(host.NodeName, child.Host.NodeName) && host.NodeName.Length > 0)
        {
            topology = SameNode;
        }
        else if (host.ZoneKey is not null && ReferenceEquals(host.ZoneKey, child.Host.ZoneKey))
        {
            topology = SameZone;
        }
        else if (host.Region is not null && ReferenceEquals(host.Region, child.Host.Region))
        {
            topology = SameRegion;
        }
        else
        {
            topology = 0;
        }

        var score = (PieceWeight * useful / missing)
            + (TopologyWeight * topology)
            + (FreeSlotWeight * free / host.UploadCapacity)
            + (FanOutWeight * (1.0 - ((double)children / _options.FanOutLimit)));
        return score / (1 + failures);
    }

    /// <summary>Stamps the child's descendants; false when there are more than <paramref name="budget"/> (then only some are stamped).</summary>
    private bool MarkDescendants(SwarmPeer child, int stamp, int budget)
    {
        _stack.Clear();
        _stack.Add(child);
        var marked = 0;
        while (_stack.Count > 0)
        {
            var peer = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            for (var i = 0; i < peer.ChildCount; i++)
            {
                var descendant = peer.ChildAt(i);
                if (descendant.DescendantStamp != stamp)
                {
                    if (++marked > budget)
                    {
                        _stack.Clear();
                        return false;
                    }

                    descendant.DescendantStamp = stamp;
                    _stack.Add(descendant);
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Restores "parent shallower than child" after a child's parents changed. A peer without parents is a
    /// root (depth 0: lowering a parent's depth never breaks an edge). Otherwise it sits one below its deepest
    /// parent, and descendants that are now too shallow are pushed down; that happens only after an exact
    /// (bounded) descendant walk, so it touches at most that many peers.
    /// </summary>
    private void SettleDepth(SwarmPeer peer)
    {
        if (peer.ParentCount == 0)
        {
            peer.Depth = 0;
            return;
        }

        var depth = 0;
        for (var i = 0; i < peer.ParentCount; i++)
        {
            depth = Math.Max(depth, peer.ParentAt(i).Depth + 1);
        }

        peer.Depth = depth;
        _stack.Clear();
        _stack.Add(peer);

        // On a DAG this ends; the bound turns a broken invariant (a cycle) into an error instead of a hang.
        var budget = (64L * peer.Task.Peers.Count) + 1024;
        while (_stack.Count > 0)
        {
            if (--budget < 0)
            {
                throw new InvalidOperationException($"parent graph of task {peer.Task.Digest} has a cycle through {peer.Host.Id}");
            }

            var parent = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            for (var i = 0; i < parent.ChildCount; i++)
            {
                var child = parent.ChildAt(i);
                if (child.Depth <= parent.Depth)
                {
                    child.Depth = parent.Depth + 1;
                    _stack.Add(child);
                }
            }
        }
    }

    /// <summary>Frees back-to-source slots whose holder is dead or stalled; succeeded holders keep theirs (they are done).</summary>
    private void ReviewBackToSource(SwarmTask task, DateTimeOffset now)
    {
        for (var slot = 0; slot < task.BackToSource.Length; slot++)
        {
            var holder = task.BackToSource[slot];
            if (holder is null || holder.State == PeerState.Succeeded)
            {
                continue;
            }

            if (IsExpired(holder.Host, now))
            {
                SchedulerLog.BackToSourceHolderGone(_logger, task.Digest, holder.Host.Id, slot);
                Revoke(task, holder);
            }
            else if (now - holder.LastProgress > _options.BackToSourceStallTimeout)
            {
                SchedulerLog.BackToSourceStalled(_logger, task.Digest, holder.Host.Id, slot, now - holder.LastProgress);
                Revoke(task, holder);
                _revoked.Add(new PeerRef(task.Digest, holder.Host.Id));
            }
        }
    }

    private void Grant(SwarmTask task, SwarmPeer peer, int slot, DateTimeOffset now)
    {
        task.BackToSource[slot] = peer;
        peer.BackToSourceSlot = slot;
        peer.State = PeerState.BackToSource;
        peer.LastProgress = now;
        if (_options.ZoneLeaders > 0 && peer.Host.ZoneKey is { } zone && task.ZoneLeaders(zone) < _options.ZoneLeaders)
        {
            // The origin's copy enters the zone here: the zone's other children take it from this peer.
            LeadZone(task, peer);
        }

        Refresh(peer);
        var stripe = task.StripeOf(slot, _options.StripeBackToSource);
        SchedulerLog.BackToSourceGranted(_logger, task.Digest, peer.Host.Id, slot, stripe.Start, stripe.End);
    }

    private void Revoke(SwarmTask task, SwarmPeer holder)
    {
        task.BackToSource[holder.BackToSourceSlot] = null;
        holder.BackToSourceSlot = -1;

        // A dead or stalled holder does not bring the blob into its zone either: another child may lead it.
        task.RemoveZoneLeader(holder, holder.Host.ZoneKey);
        if (holder.State == PeerState.BackToSource)
        {
            holder.State = PeerState.Running;
        }

        Refresh(holder);

        // Children attached for the promised stripe will not get it from this peer now: detach them so the
        // stream service offers them new parents (or the freed slot).
        for (var i = 0; i < holder.ChildCount; i++)
        {
            var child = holder.ChildAt(i);
            child.RemoveParent(holder);
            _orphaned.Add(new PeerRef(task.Digest, child.Host.Id));
        }

        holder.ClearChildren();
        Refresh(holder);
    }

    private static ParentCandidate Candidate(SwarmPeer parent, double score) =>
        new(parent.Host.Id, parent.Host.PeerAddress, score, parent.Host.Zone, parent.Host.Region ?? "");

    private static void MarkSucceeded(SwarmPeer peer) => peer.State = PeerState.Succeeded;

    private bool DropParent(SwarmTask task, SwarmPeer child, string parentHostId, int failures)
    {
        if (!task.Peers.TryGetValue(parentHostId, out var parent) || !child.RemoveParent(parent))
        {
            return false;
        }

        parent.RemoveChild(child);
        Refresh(parent);
        SchedulerLog.ParentDropped(_logger, task.Digest, child.Host.Id, parentHostId, failures);
        return true;
    }

    private void DetachFromParents(SwarmPeer child)
    {
        for (var i = 0; i < child.ParentCount; i++)
        {
            var parent = child.ParentAt(i);
            parent.RemoveChild(child);
            Refresh(parent);
        }

        child.ClearParents();
    }

    private void RemovePeer(SwarmTask task, SwarmPeer peer)
    {
        if (peer.InPools)
        {
            task.RemoveFromPools(peer);
        }

        task.RemoveZoneLeader(peer, peer.Host.ZoneKey);

        if (peer.BackToSourceSlot >= 0)
        {
            if (peer.State != PeerState.Succeeded)
            {
                SchedulerLog.BackToSourceHolderGone(_logger, task.Digest, peer.Host.Id, peer.BackToSourceSlot);
            }

            task.BackToSource[peer.BackToSourceSlot] = null;
            peer.BackToSourceSlot = -1;
        }

        DetachFromParents(peer);
        for (var i = 0; i < peer.ChildCount; i++)
        {
            var child = peer.ChildAt(i);
            child.RemoveParent(peer);
            _orphaned.Add(new PeerRef(task.Digest, child.Host.Id));
        }

        peer.ClearChildren();
        AdjustAvailability(task, peer.Pieces, -1);
        peer.Alive = false;
        task.Peers.Remove(peer.Host.Id);
        peer.Host.Peers.Remove(peer);
        if (task.Peers.Count == 0)
        {
            _tasks.Remove(task.Digest);
            SchedulerLog.TaskForgotten(_logger, task.Digest);
        }
    }

    /// <summary>Puts a peer into or out of the candidate pools after anything that changes whether it can be offered.</summary>
    private void Refresh(SwarmPeer peer)
    {
        var offerable = peer.Alive
            && peer.ChildCount < _options.FanOutLimit
            && (peer.State != PeerState.Running || peer.Pieces.SetCount > 0 || peer.ZoneLeader);
        if (offerable != peer.InPools)
        {
            if (offerable)
            {
                peer.Task.AddToPools(peer);
            }
            else
            {
                peer.Task.RemoveFromPools(peer);
            }
        }
    }

    private static void AdjustAvailability(SwarmTask task, PieceBitmap pieces, int delta)
    {
        if (pieces.SetCount == 0)
        {
            return;
        }

        var words = task.CandidateWords.AsSpan();
        BitmapWords.Load(pieces, words);
        for (var i = BitmapWords.NextSet(words, 0); i >= 0; i = BitmapWords.NextSet(words, i + 1))
        {
            task.Availability[i] += delta;
        }
    }

    private bool IsExpired(SwarmHost host, DateTimeOffset now) => now - host.LastHeartbeat > _options.HostExpiry;

    private bool TryGetPeer(Digest digest, string hostId, out SwarmTask task, out SwarmPeer peer)
    {
        if (_tasks.TryGetValue(digest, out task!) && task.Peers.TryGetValue(hostId, out peer!))
        {
            return true;
        }

        peer = null!;
        return false;
    }

    private void RemoveFromNodeIndex(SwarmHost host)
    {
        if (_hostsByNode.TryGetValue(host.NodeName, out var onNode))
        {
            onNode.Remove(host);
            if (onNode.Count == 0)
            {
                _hostsByNode.Remove(host.NodeName);
            }
        }
    }

    private string Intern(string value)
    {
        if (!_interned.TryGetValue(value, out var interned))
        {
            _interned.Add(value, value);
            interned = value;
        }

        return interned;
    }

    // xorshift64*: picks window offsets; not security-relevant, and seedable for reproducible benchmarks.
    private ulong NextRandom()
    {
        _rng ^= _rng >> 12;
        _rng ^= _rng << 25;
        _rng ^= _rng >> 27;
        return _rng * 0x2545F4914F6CDD1DUL;
    }
}

/// <summary>How much the scheduler holds: hosts, tasks (blobs) and peers (task × host).</summary>
internal readonly record struct SwarmCounts(int Hosts, int Tasks, int Peers);

/// <summary>One peer's state as the scheduler sees it.</summary>
internal sealed record PeerSnapshot(PeerState State, int BackToSourceSlot, int PresentPieces, IReadOnlyList<string> Parents, IReadOnlyList<string> Children, bool ZoneLeader = false);
