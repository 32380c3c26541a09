namespace PeerAgent.Simulator;

/// <summary>Flows over links: start, fair shares, completion and abort.</summary>
internal sealed partial class Simulation
{
    /// <summary>Flows above which a source's fair share is recomputed only when the count moved by <see cref="ShareHysteresis"/>.</summary>
    private const int LargeSource = 64;
    private const double ShareHysteresis = 0.02;

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
        Reshare(source);
        Reshare(target.Node);
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

    private void Update(Flow flow)
    {
        Advance(flow);
        var rate = Math.Min(flow.Source.UpBytes / Math.Max(1, flow.Source.UpShareCount), flow.Target.DownBytes / flow.Target.Downloads.Count);
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
        Reshare(flow.Source);
        Reshare(flow.Target);
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
