namespace PeerAgent.Simulator;

/// <summary>A queued event: its kind, the node or download it concerns, and a payload where one is needed.</summary>
internal readonly record struct SimEvent(EventKind Kind, int Node, int Layer, object? Payload = null, long Version = 0);
