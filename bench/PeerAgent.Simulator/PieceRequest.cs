namespace PeerAgent.Simulator;

/// <summary>A piece asked of a parent: from the request until it is stored, refused, failed or timed out.</summary>
internal sealed class PieceRequest
{
    public required LayerDownload Download { get; init; }
    public required SimParent Parent { get; init; }
    public required int Piece { get; init; }
    public required double RequestedAt { get; init; }

    /// <summary>When the parent last sent a byte of it (the request time until then); the agent's piece timeout is idle time.</summary>
    public double LastByteAt { get; set; }

    public Flow? Flow { get; set; }

    /// <summary>False once it ended one way or another; late events for it are ignored.</summary>
    public bool Open { get; set; } = true;
}
