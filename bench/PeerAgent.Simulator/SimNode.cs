namespace PeerAgent.Simulator;

/// <summary>One host (or the origin): its links, its flows and, for a host, one download per layer.</summary>
internal sealed class SimNode
{
    public SimNode(int index, string hostId, int zone, int region, double upBytes, double downBytes)
    {
        Index = index;
        HostId = hostId;
        Zone = zone;
        Region = region;
        UpBytes = upBytes;
        DownBytes = downBytes;
    }

    public int Index { get; }
    public string HostId { get; }

    /// <summary>Zone index; -1 for the origin, which sits outside every zone.</summary>
    public int Zone { get; }

    public int Region { get; }

    /// <summary>Uplink and downlink in bytes per second.</summary>
    public double UpBytes { get; }
    public double DownBytes { get; }

    public List<Flow> Uploads { get; } = [];

    /// <summary>The upload count the current fair shares were computed with (see Simulation.Reshare).</summary>
    public int UpShareCount { get; set; }
    public List<Flow> Downloads { get; } = [];

    /// <summary>Piece uploads to peers in flight: what MaxConcurrentUploads bounds and heartbeats report.</summary>
    public int PeerUploads { get; set; }

    /// <summary>Requests waiting for an upload slot (Peer:MaxQueuedUploads; none by default).</summary>
    public Queue<PieceRequest> UploadQueue { get; } = new();

    /// <summary>One download per layer of the image.</summary>
    public LayerDownload[] Layers { get; set; } = [];

    public bool Alive { get; set; } = true;
    public bool Started { get; set; }
    public double StartTime { get; set; }
    public double DoneTime { get; set; } = double.NaN;
    public int LayersDone { get; set; }

    /// <summary>Pieces received (any layer) after which this node leaves; int.MaxValue when it stays.</summary>
    public int LeaveAfterPieces { get; set; } = int.MaxValue;

    public int PiecesReceived { get; set; }
    public bool Left { get; set; }

    public long BytesSentToPeers { get; set; }
    public long BytesReceivedFromPeers { get; set; }
}
