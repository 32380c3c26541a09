namespace PeerAgent.Simulator;

/// <summary>What a queued <see cref="SimEvent"/> does when its time comes.</summary>
internal enum EventKind
{
    /// <summary>A node starts its pull: its client asks for every layer.</summary>
    NodeStart,

    /// <summary>One layer's request reaches the node's agent, which announces it.</summary>
    LayerStart,

    /// <summary>A node leaves: its agent stops mid-download.</summary>
    Leave,

    /// <summary>A scheduler decision reaches a download.</summary>
    Decision,

    /// <summary>A piece request reaches its parent, which starts sending or refuses (upload slots full).</summary>
    RequestArrives,

    /// <summary>A parent's refusal (RESOURCE_EXHAUSTED) reaches the child.</summary>
    BusyReply,

    /// <summary>A flow may have sent its last byte.</summary>
    FlowEnd,

    /// <summary>A peer piece's last byte reaches the child, which stores it.</summary>
    PieceArrives,

    /// <summary>The origin lane opens a Range and its first byte arrives.</summary>
    OriginOpen,

    /// <summary>The origin lane's wait for peers (200 ms) is over.</summary>
    OriginWake,

    /// <summary>A download's control loop wakes on its own (every 250 ms).</summary>
    Tick,

    /// <summary>A node heartbeats the scheduler.</summary>
    Heartbeat,

    /// <summary>The scheduler's sweep (every SweepInterval).</summary>
    Sweep,
}
