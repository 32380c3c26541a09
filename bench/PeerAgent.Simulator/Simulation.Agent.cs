using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Simulator;

/// <summary>
/// The agents: each layer download follows its scheduler session as SwarmFill does (apply decisions, rarest-first
/// peer requests with a bounded number in flight, piece timeouts, parent faults and drops, reschedule when no
/// parent has anything useful or a wait is over, origin fallback on a stall), and each agent serves its pieces
/// with a bounded number of upload slots.
/// </summary>
internal sealed partial class Simulation
{
    private void StartNode(SimNode node)
    {
        node.Started = true;
        node.StartTime = Now;
        foreach (var download in node.Layers)
        {
            // The client asks for every blob at once; which request reaches the agent (and the scheduler) first differs.
            Enqueue(Now + (_random.NextDouble() * _s.StartJitterSeconds), new SimEvent(EventKind.LayerStart, node.Index, download.Layer.Index));
        }
    }

    private void StartLayer(LayerDownload download)
    {
        var node = download.Node;
        if (!node.Alive)
        {
            return;
        }

        download.LastProgress = Now;
        var layer = download.Layer;
        var result = Scheduler.Announce(layer.Digest, layer.SchedulerLength, node.HostId);
        if (result != AnnounceResult.Registered)
        {
            throw new InvalidOperationException($"announce of {node.HostId} for layer {layer.Index} returned {result}");
        }

        // Registration answers with the first decision; the loop's first pass then finds no useful parent and asks
        // again at once, as the agent does.
        Deliver(download, Scheduler.Schedule(layer.Digest, node.HostId));
        Enqueue(Now + LoopInterval, new SimEvent(EventKind.Tick, node.Index, layer.Index));
        Pulse(download);
    }

    /// <summary>A fresh decision from the scheduler, as the stream service computes one (re-announcing an unknown peer).</summary>
    private void NextDecision(LayerDownload download)
    {
        var layer = download.Layer;
        var host = download.Node.HostId;
        var decision = Scheduler.Schedule(layer.Digest, host);
        if (decision.Outcome == ScheduleOutcome.Unknown
            && Scheduler.Announce(layer.Digest, layer.SchedulerLength, host, download.Bitmap()) == AnnounceResult.Registered)
        {
            decision = Scheduler.Schedule(layer.Digest, host);
        }

        Deliver(download, decision);
    }

    private void Deliver(LayerDownload download, ScheduleDecision decision) =>
        Enqueue(Now + _s.RttSeconds, new SimEvent(EventKind.Decision, download.Node.Index, download.Layer.Index, decision));

    private void OnDecision(LayerDownload download, ScheduleDecision decision)
    {
        if (!download.Node.Alive || download.Done)
        {
            return;
        }

        if (Trace)
        {
            Console.Error.WriteLine($"{Now:0.0000} {download.Node.HostId} L{download.Layer.Index} {decision.Outcome} [{string.Join(",", decision.Parents.Select(p => p.HostId))}] have {download.Present} req {download.Requests.Count}");
        }

        switch (decision.Outcome)
        {
            case ScheduleOutcome.Parents:
                AddParents(download, decision.Parents);
                if (download.OriginGranted && download.OriginRunning)
                {
                    // Our back-to-source slot went to someone else (we stalled): leave the origin to them.
                    _revocations++;
                    StopOrigin(download);
                    download.OriginGranted = false;
                }

                break;
            case ScheduleOutcome.BackToSource:
                AddParents(download, decision.Parents);
                var (start, end) = (decision.Stripe.Start, decision.Stripe.End);
                if (end <= start)
                {
                    (start, end) = (0, download.Layer.PieceCount);
                }

                StartOrigin(download, start, end, granted: true);
                break;
            case ScheduleOutcome.Wait:
                download.RescheduleAt = Now + Math.Clamp(decision.RetryAfter.TotalSeconds, 0.05, 10);
                break;
            default:
                break;
        }

        Pulse(download);
    }

    private void AddParents(LayerDownload download, IReadOnlyList<ParentCandidate> candidates)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            var index = _nodeByHost[candidates[i].HostId];
            if (index == download.Node.Index)
            {
                continue;
            }

            if (download.Parents.TryGetValue(index, out var known) && (!known.Dead || known.Corrupt))
            {
                continue;
            }

            var source = _nodes[index].Layers[download.Layer.Index];
            var link = new SimParent(source);
            download.Parents[index] = link;
            source.Followers.Add((download, link));
            if (!source.Node.Alive)
            {
                Drop(download, link); // its SyncPieces stream fails at once
            }
        }
    }

    /// <summary>Something changed for this download: its control loop and its workers run.</summary>
    private void Pulse(LayerDownload download)
    {
        Unpark(download);
        if (download.OriginWaiting && download.OriginRunning)
        {
            // The lane waits on the same pulse for a peer to give a piece up.
            download.OriginWaiting = false;
            download.OriginEpoch++;
            OriginTop(download);
        }

        CheckStall(download);
        Pump(download);
    }

    /// <summary>SwarmFill.CheckStall: reschedule when a wait is over or no parent has anything useful; origin on a stall.</summary>
    private void CheckStall(LayerDownload download)
    {
        if (download.Done || !download.Node.Alive || download.OriginRunning)
        {
            return;
        }

        var anyUseful = download.AnyUseful();
        var refresh = _s.RefreshParentsSeconds > 0 && Now - download.LastReschedule >= _s.RefreshParentsSeconds;
        if (Now >= download.RescheduleAt || (!anyUseful && Now - download.LastReschedule >= _s.MinRescheduleSeconds) || refresh)
        {
            download.RescheduleAt = double.PositiveInfinity;
            download.LastReschedule = Now;
            NextDecision(download);
        }

        if (Now - download.LastProgress >= _s.StallTimeoutSeconds)
        {
            _stallFallbacks++;
            if (Trace)
            {
                Console.Error.WriteLine($"{Now:0.0000} {download.Node.HostId} L{download.Layer.Index} stalls with {download.Present}/{download.Layer.PieceCount} pieces, {download.Requests.Count} requests, parents {string.Join(",", download.Parents.Select(p => p.Value.Source.Node.HostId + (p.Value.Dead ? "(dead)" : "") + ":" + p.Value.Source.Present))}");
            }

            StartOrigin(download, 0, download.Layer.PieceCount, granted: false);
        }
    }

    /// <summary>The peer workers: as many requests in flight as allowed, each for the rarest piece a free parent holds.</summary>
    private void Pump(LayerDownload download)
    {
        if (download.Done || !download.Node.Alive)
        {
            return;
        }

        while (download.Requests.Count < _s.MaxPiecesInFlight)
        {
            var (piece, parent) = download.Pick(Now);
            if (parent is null || !download.TryClaim(piece))
            {
                return;
            }

            parent.InFlight++;
            var request = new PieceRequest { Download = download, Parent = parent, Piece = piece, RequestedAt = Now, LastByteAt = Now };
            download.Requests.Add(request);
            Enqueue(Now + (Rtt(download.Node, parent.Source.Node) / 2), new SimEvent(EventKind.RequestArrives, 0, 0, request));
        }
    }

    private void OnRequestArrives(PieceRequest request)
    {
        if (!request.Open)
        {
            return;
        }

        var parent = request.Parent.Source.Node;
        if (!parent.Alive)
        {
            FailRequest(request, dropParent: true);
            return;
        }

        if (parent.PeerUploads < _s.MaxConcurrentUploads)
        {
            Serve(request);
        }
        else if (parent.UploadQueue.Count < _s.MaxQueuedUploads)
        {
            parent.UploadQueue.Enqueue(request); // oldest first, as the agent's ConcurrencyLimiter queues
        }
        else
        {
            _refusals++;
            Enqueue(Now + (Rtt(parent, request.Download.Node) / 2), new SimEvent(EventKind.BusyReply, 0, 0, request));
        }
    }

    private void Serve(PieceRequest request)
    {
        var parent = request.Parent.Source.Node;
        parent.PeerUploads++;
        request.Flow = StartFlow(parent, request.Download, request.Piece, request, skip: false);
    }

    /// <summary>An upload slot came free: the oldest queued request still wanted takes it.</summary>
    private void ServeQueued(SimNode parent)
    {
        while (parent.Alive && parent.PeerUploads < _s.MaxConcurrentUploads && parent.UploadQueue.TryDequeue(out var next))
        {
            if (next.Open)
            {
                Serve(next);
            }
        }
    }

    private void OnBusyReply(PieceRequest request)
    {
        if (!request.Open)
        {
            return;
        }

        request.Parent.BusyUntil = Now + BusyBackoff;
        Close(request);
        Pulse(request.Download);
    }

    private void OnPieceArrives(PieceRequest request)
    {
        if (!request.Open)
        {
            return;
        }

        var download = request.Download;
        Close(request);
        if (!download.Node.Alive)
        {
            return;
        }

        if (download.Store(request.Piece))
        {
            download.PeerBytes += request.Flow!.Bytes;
            OnStored(download, request.Piece);
        }

        if (download.Done)
        {
            Complete(download);
        }
        else
        {
            Pulse(download);
        }
    }

    /// <summary>A piece is stored: the scheduler hears of it, and children following this download may ask for it.</summary>
    private void OnStored(LayerDownload download, int piece)
    {
        download.LastProgress = Now;
        var node = download.Node;
        Scheduler.PieceFinished(download.Layer.Digest, node.HostId, piece);
        if (++node.PiecesReceived == node.LeaveAfterPieces)
        {
            Enqueue(Now, new SimEvent(EventKind.Leave, node.Index, 0));
        }

        var followers = download.Followers;
        for (var i = followers.Count - 1; i >= 0; i--)
        {
            var (child, link) = followers[i];
            if (link.Dead || child.Done || !child.Node.Alive)
            {
                followers[i] = followers[^1];
                followers.RemoveAt(followers.Count - 1);
                continue;
            }

            // SyncPieces: the parent's new piece is news (not a stall), and a free worker may ask for it.
            child.LastProgress = Now;
            Unpark(child);
            if (!child.Has(piece) && !child.IsClaimed(piece) && child.Requests.Count < _s.MaxPiecesInFlight)
            {
                Pump(child);
            }
        }
    }

    private void OnTick(LayerDownload download)
    {
        if (download.Done || !download.Node.Alive)
        {
            return;
        }

        // Piece timeouts: the agent cancels a request whose parent sent no byte for PieceTimeout, and bytes from parents
        // count as progress against the stall timeout (here both checked on the loop's beat).
        var requests = download.Requests;
        for (var i = requests.Count - 1; i >= 0; i--)
        {
            if (i < requests.Count && requests[i].Flow is { Active: true, Rate: > 0 })
            {
                requests[i].LastByteAt = Now;
                download.LastProgress = Now;
            }
            else if (i < requests.Count && Now - requests[i].LastByteAt >= _s.PieceTimeoutSeconds)
            {
                _timeouts++;
                FailRequest(requests[i], dropParent: false);
            }
        }

        Pulse(download);

        // Reading the origin with nothing asked of peers and nothing useful at them, the loop has nothing to do until a
        // pulse (a decision, a parent's new piece): park its timer rather than tick through a long origin read.
        if (download.OriginRunning && download.Requests.Count == 0 && !download.AnyUseful())
        {
            download.TickParked = true;
            return;
        }

        Enqueue(Now + LoopInterval, new SimEvent(EventKind.Tick, download.Node.Index, download.Layer.Index));
    }

    private void Unpark(LayerDownload download)
    {
        if (download.TickParked)
        {
            download.TickParked = false;
            Enqueue(Now + LoopInterval, new SimEvent(EventKind.Tick, download.Node.Index, download.Layer.Index));
        }
    }

    /// <summary>
    /// A peer request failed: slow (timed out; the parent is dropped after <see cref="ParentFailureLimit"/>) or
    /// unreachable (dropped at once). The scheduler hears of the failed piece, and of the dropped parent.
    /// </summary>
    private void FailRequest(PieceRequest request, bool dropParent)
    {
        if (request.Flow is { } flow)
        {
            Abort(flow);
        }

        var download = request.Download;
        Close(request);
        var layer = download.Layer;
        var parentHost = request.Parent.Source.Node.HostId;
        if (Scheduler.PieceFailed(layer.Digest, download.Node.HostId, request.Piece, parentHost))
        {
            NextDecision(download);
        }

        if (dropParent || ++request.Parent.Failures >= ParentFailureLimit)
        {
            Drop(download, request.Parent);
        }
    }

    private void Close(PieceRequest request)
    {
        request.Open = false;
        request.Parent.InFlight--;
        request.Download.Release(request.Piece);
        request.Download.Requests.Remove(request);
    }

    /// <summary>The child gives up on a parent: ParentFailed, and the scheduler answers with a new decision.</summary>
    private void Drop(LayerDownload download, SimParent link)
    {
        if (link.Dead)
        {
            return;
        }

        link.Dead = true;
        _parentDrops++;
        Scheduler.ParentFailed(download.Layer.Digest, download.Node.HostId, link.Source.Node.HostId);
        NextDecision(download);
    }

    private void Complete(LayerDownload download)
    {
        download.DoneTime = Now;
        StopOrigin(download);
        while (download.Requests.Count > 0)
        {
            var request = download.Requests[^1];
            if (request.Flow is { } flow)
            {
                Abort(flow);
            }

            Close(request);
        }

        var node = download.Node;
        Scheduler.DownloadFinished(download.Layer.Digest, node.HostId);
        if (++node.LayersDone == node.Layers.Length)
        {
            node.DoneTime = Now;
            _nodesDone++;
        }
    }

    /// <summary>
    /// The node's agent stops mid-download: its Announce streams close (the scheduler forgets its peers), its
    /// uploads break (children count the piece failed and drop it as unreachable), and its heartbeats stop.
    /// </summary>
    private void Leave(SimNode node)
    {
        if (!node.Alive || !double.IsNaN(node.DoneTime))
        {
            return;
        }

        node.Alive = false;
        node.Left = true;
        _nodesLeft++;
        foreach (var download in node.Layers)
        {
            StopOrigin(download);
            while (download.Requests.Count > 0)
            {
                var request = download.Requests[^1];
                if (request.Flow is { } flow)
                {
                    Abort(flow);
                }

                Close(request);
            }

            Scheduler.Leave(download.Layer.Digest, node.HostId);
        }

        // Uploads in flight: the children's requests fail as unreachable.
        for (var i = node.Uploads.Count - 1; i >= 0; i--)
        {
            if (i < node.Uploads.Count && node.Uploads[i].Request is { Open: true } request)
            {
                FailRequest(request, dropParent: true);
                Pulse(request.Download);
            }
        }

        while (node.UploadQueue.TryDequeue(out var queued))
        {
            if (queued.Open)
            {
                FailRequest(queued, dropParent: true);
                Pulse(queued.Download);
            }
        }

        // Children following it: their SyncPieces streams break.
        foreach (var download in node.Layers)
        {
            foreach (var (child, link) in download.Followers.ToArray())
            {
                if (!link.Dead && !child.Done && child.Node.Alive)
                {
                    Drop(child, link);
                    Pulse(child);
                }
            }
        }
    }
}
