namespace PeerAgent.Simulator;

/// <summary>Flows over links: start, fair shares, completion and abort.</summary>
internal sealed partial class Simulation
{
    /// <summary>Flows above which a source's fair share is recomputed only when the count moved by <see cref="ShareHysteresis"/>.</summary>
    private const int LargeSource = 64;
    private const double ShareHysteresis = 0.02;

    // Active flows, kept only for max-min sharing.
    private readonly List<Flow> _active = [];

    private Flow StartFlow(SimNode source, LayerDownload target, int piece, PieceRequest? request, bool skip)
    {
        var flow = new Flow
        {
            Id = _flowIds++,
            Source = source,
            Target = target.Node,
            Download = target,
            Piece = piece,
            Bytes = target.Layer.LengthOf(piece),
            Request = request,
            Skip = skip,
        };
        flow.Remaining = flow.Bytes;
        flow.LastUpdate = Now;
        flow.Active = true;
        source.Uploads.Add(flow);
        target.Node.Downloads.Add(flow);
        if (_s.MaxMinSharing)
        {
            _active.Add(flow);
            ReshareMaxMin();
        }
        else
        {
            Reshare(source);
            Reshare(target.Node);
        }

        return flow;
    }

    /// <summary>New fair shares for every flow leaving or entering <paramref name="node"/>.</summary>
    /// <remarks>
    /// A source with many flows (the origin when nodes fall back to it) keeps the flow count its shares were last
    /// computed with until the real count moves by more than <see cref="ShareHysteresis"/>: otherwise each of N
    /// origin reads starting or ending would recompute N rates (N² per piece round). Its flows may then oversubscribe
    /// or under-use its uplink by up to that fraction.
    /// </remarks>
    private void Reshare(SimNode node)
    {
        var uploads = node.Uploads;
        var count = uploads.Count;
        if (count <= LargeSource || Math.Abs(count - node.UpShareCount) > ShareHysteresis * node.UpShareCount)
        {
            node.UpShareCount = count;
            for (var i = 0; i < uploads.Count; i++)
            {
                Update(uploads[i]);
            }
        }

        var downloads = node.Downloads;
        for (var i = 0; i < downloads.Count; i++)
        {
            Update(downloads[i]);
        }
    }

    private void Update(Flow flow) =>
        SetRate(flow, Math.Min(flow.Source.UpBytes / Math.Max(1, flow.Source.UpShareCount), flow.Target.DownBytes / flow.Target.Downloads.Count));

    /// <summary>
    /// Exact max-min fair rates for every active flow (progressive filling: the most constrained link fixes its
    /// flows' rate, which leaves its capacity; repeat). Cost grows with all flows times all links per flow start or
    /// end, so it is meant for small runs, e.g. to check what the local per-flow share costs (calibration).
    /// </summary>
    private void ReshareMaxMin()
    {
        var remaining = new Dictionary<(SimNode Node, bool Up), (double Capacity, int Unfixed)>();
        foreach (var flow in _active)
        {
            Add(remaining, (flow.Source, true), flow.Source.UpBytes);
            Add(remaining, (flow.Target, false), flow.Target.DownBytes);
        }

        var unfixed = new HashSet<Flow>(_active);
        var rates = new Dictionary<Flow, double>();
        while (unfixed.Count > 0)
        {
            var bottleneck = default((SimNode, bool));
            var level = double.PositiveInfinity;
            foreach (var (link, state) in remaining)
            {
                if (state.Unfixed > 0 && state.Capacity / state.Unfixed < level)
                {
                    (bottleneck, level) = (link, state.Capacity / state.Unfixed);
                }
            }

            foreach (var flow in unfixed.ToArray())
            {
                if ((bottleneck.Item2 && ReferenceEquals(flow.Source, bottleneck.Item1)) || (!bottleneck.Item2 && ReferenceEquals(flow.Target, bottleneck.Item1)))
                {
                    rates[flow] = level;
                    unfixed.Remove(flow);
                    Take(remaining, (flow.Source, true), level);
                    Take(remaining, (flow.Target, false), level);
                }
            }
        }

        foreach (var flow in _active)
        {
            SetRate(flow, rates[flow]);
        }

        static void Add(Dictionary<(SimNode, bool), (double, int)> links, (SimNode, bool) link, double capacity)
        {
            var (left, count) = links.TryGetValue(link, out var state) ? state : (capacity, 0);
            links[link] = (left, count + 1);
        }

        static void Take(Dictionary<(SimNode, bool), (double, int)> links, (SimNode, bool) link, double rate)
        {
            var (left, count) = links[link];
            links[link] = (Math.Max(0, left - rate), count - 1);
        }
    }

    private void SetRate(Flow flow, double rate)
    {
        Advance(flow);
        flow.Rate = rate;
        var end = Now + (Math.Max(0, flow.Remaining) / rate);

        // Only a sooner end needs a new event; a later one is found when the queued event fires (see OnFlowEnd).
        if (end < flow.QueuedEnd)
        {
            flow.QueuedEnd = end;
            Enqueue(end, new SimEvent(EventKind.FlowEnd, 0, 0, flow));
        }
    }

    private void Advance(Flow flow)
    {
        if (flow.Rate > 0)
        {
            flow.Remaining -= flow.Rate * (Now - flow.LastUpdate);
        }

        flow.LastUpdate = Now;
    }

    private void OnFlowEnd(Flow flow)
    {
        if (!flow.Active || Now < flow.QueuedEnd)
        {
            return; // ended or aborted already, or a sooner event replaced this one
        }

        Advance(flow);
        if (flow.Remaining > 1)
        {
            // Its rate fell since this event was queued.
            flow.QueuedEnd = Now + (flow.Remaining / flow.Rate);
            Enqueue(flow.QueuedEnd, new SimEvent(EventKind.FlowEnd, 0, 0, flow));
            return;
        }

        Detach(flow);
        Count(flow, flow.Bytes);
        if (flow.Request is { } request)
        {
            // The last byte is sent; it reaches the child half a round trip later.
            Enqueue(Now + (Rtt(flow.Source, flow.Target) / 2), new SimEvent(EventKind.PieceArrives, 0, 0, request));
        }
        else
        {
            OnOriginPieceRead(flow);
        }
    }

    /// <summary>Stops a flow before its end; the bytes already sent still count as traffic.</summary>
    private void Abort(Flow flow)
    {
        if (!flow.Active)
        {
            return;
        }

        Advance(flow);
        Detach(flow);
        var sent = (long)Math.Clamp(flow.Bytes - flow.Remaining, 0, flow.Bytes);
        _abortedBytes += sent;
        if (ReferenceEquals(flow.Source, _origin))
        {
            _originWireBytes += sent;
        }
    }

    private void Detach(Flow flow)
    {
        flow.Active = false;
        flow.Source.Uploads.Remove(flow);
        flow.Target.Downloads.Remove(flow);
        if (_s.MaxMinSharing)
        {
            _active.Remove(flow);
            ReshareMaxMin();
        }
        else
        {
            Reshare(flow.Source);
            Reshare(flow.Target);
        }

        if (flow.Request is not null)
        {
            flow.Source.PeerUploads--;
            ServeQueued(flow.Source);
        }
    }

    private void Count(Flow flow, long bytes)
    {
        if (ReferenceEquals(flow.Source, _origin))
        {
            _originWireBytes += bytes;
            if (flow.Skip)
            {
                _originSkippedBytes += bytes;
            }

            return;
        }

        _peerWireBytes += bytes;
        flow.Source.BytesSentToPeers += bytes;
        flow.Target.BytesReceivedFromPeers += bytes;
        if (flow.Source.Zone != flow.Target.Zone)
        {
            _crossZoneBytes += bytes;
        }
    }
}
