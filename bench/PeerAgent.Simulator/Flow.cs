namespace PeerAgent.Simulator;

/// <summary>
/// Bytes of one piece moving from a source's uplink to a node's downlink. Its rate is recomputed whenever a flow
/// starts or ends at either end (see <see cref="Simulation"/>), and its remaining bytes advance at the old rate first.
/// </summary>
internal sealed class Flow
{
    public required SimNode Source { get; init; }
    public required SimNode Target { get; init; }
    public required LayerDownload Download { get; init; }
    public required int Piece { get; init; }
    public required long Bytes { get; init; }

    /// <summary>The peer request this flow serves; null for the origin lane.</summary>
    public PieceRequest? Request { get; init; }

    /// <summary>An origin read of a piece that is already present or claimed: bytes cross the link but are not stored.</summary>
    public bool Skip { get; init; }

    public double Remaining { get; set; }
    public double Rate { get; set; }
    public double LastUpdate { get; set; }

    /// <summary>When its completion event is queued; a rate change that ends it sooner queues a new one.</summary>
    public double QueuedEnd { get; set; } = double.PositiveInfinity;

    public bool Active { get; set; }
    public int Id { get; init; }
}
