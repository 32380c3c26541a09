namespace PeerAgent.Simulator;

/// <summary>
/// One node's download of one layer, as the agent's SwarmFill runs it: present and claimed pieces, the parents
/// the scheduler named, peer requests in flight, the origin lane, and the control loop's reschedule and stall state.
/// </summary>
internal sealed class LayerDownload
{
    private readonly bool[] _have;
    private readonly bool[] _claimed;

    public LayerDownload(SimNode node, LayerTask layer)
    {
        Node = node;
        Layer = layer;
        _have = new bool[layer.PieceCount];
        _claimed = new bool[layer.PieceCount];
    }

    public SimNode Node { get; }
    public LayerTask Layer { get; }
    public int Present { get; private set; }
    public bool Done => Present == Layer.PieceCount;
    public double DoneTime { get; set; } = double.NaN;

    /// <summary>Parents by node index, dead ones included (the agent keeps them to refuse a corrupt one again).</summary>
    public Dictionary<int, SimParent> Parents { get; } = [];

    /// <summary>Children following this download's pieces (their SyncPieces streams), with their link to it.</summary>
    public List<(LayerDownload Child, SimParent Link)> Followers { get; } = [];

    public List<PieceRequest> Requests { get; } = [];

    // Control loop (SwarmFill.CheckStall).
    public double LastProgress { get; set; }
    public double RescheduleAt { get; set; } = double.PositiveInfinity;
    public double LastReschedule { get; set; } = double.NegativeInfinity;

    // Origin lane (OriginLane): a sequential read of [OriginStart, OriginEnd) when running.
    public bool OriginRunning { get; set; }
    public bool OriginGranted { get; set; }
    public int OriginStart { get; set; }
    public int OriginEnd { get; set; }
    public Flow? OriginFlow { get; set; }

    /// <summary>Bumped whenever the lane stops or restarts, so its stale events are ignored.</summary>
    public long OriginEpoch { get; set; }

    public bool OriginWaiting { get; set; }

    /// <summary>Its loop's timer is parked: nothing for it to do until a pulse (see Simulation.OnTick).</summary>
    public bool TickParked { get; set; }

    public long PeerBytes { get; set; }
    public long OriginStoredBytes { get; set; }

    public bool Has(int piece) => _have[piece];

    public bool IsClaimed(int piece) => _claimed[piece];

    public bool TryClaim(int piece)
    {
        if (_claimed[piece])
        {
            return false;
        }

        _claimed[piece] = true;
        return true;
    }

    public void Release(int piece) => _claimed[piece] = false;

    /// <summary>Marks a piece present; false when it already was.</summary>
    public bool Store(int piece)
    {
        if (_have[piece])
        {
            return false;
        }

        _have[piece] = true;
        Present++;
        return true;
    }

    /// <summary>First piece in the range neither present nor claimed, or -1 (OriginLane's PieceClaims.FirstOpen).</summary>
    public int FirstOpen(int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (!_have[i] && !_claimed[i])
            {
                return i;
            }
        }

        return -1;
    }

    public bool AllPresent(int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (!_have[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether a live parent holds a piece still missing here (ParentSet.AnyUseful).</summary>
    public bool AnyUseful()
    {
        foreach (var parent in Parents.Values)
        {
            if (parent.Dead)
            {
                continue;
            }

            for (var i = 0; i < _have.Length; i++)
            {
                if (!_have[i] && parent.Source.Has(i))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Rarest first among wanted pieces (neither present nor claimed), lowest index on ties, from the least busy
    /// parent that holds it and can take a request now (the agent's PiecePicker).
    /// </summary>
    public (int Piece, SimParent? Parent) Pick(double now)
    {
        var best = -1;
        SimParent? bestParent = null;
        var bestHolders = int.MaxValue;
        for (var i = 0; i < _have.Length; i++)
        {
            if (_have[i] || _claimed[i])
            {
                continue;
            }

            var holders = 0;
            SimParent? chosen = null;
            foreach (var parent in Parents.Values)
            {
                if (!parent.Holds(i))
                {
                    continue;
                }

                holders++;
                if (parent.CanServe(i, now)
                    && (chosen is null || parent.InFlight < chosen.InFlight || (parent.InFlight == chosen.InFlight && parent.Failures < chosen.Failures)))
                {
                    chosen = parent;
                }
            }

            if (chosen is not null && holders < bestHolders)
            {
                (best, bestParent, bestHolders) = (i, chosen, holders);
                if (holders == 1)
                {
                    break;
                }
            }
        }

        return (best, bestParent);
    }

    /// <summary>The layer's bitmap in the scheduler's byte form (bit i of byte i / 8, least significant first).</summary>
    public byte[] Bitmap()
    {
        var bitmap = new PeerAgent.Core.Pieces.PieceBitmap(_have.Length);
        for (var i = 0; i < _have.Length; i++)
        {
            if (_have[i])
            {
                bitmap.Set(i);
            }
        }

        return bitmap.ToBytes();
    }
}
