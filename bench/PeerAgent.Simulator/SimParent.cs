namespace PeerAgent.Simulator;

/// <summary>One parent of one layer download, as the agent's ParentLink keeps it: load, failures, busy and dead flags.</summary>
internal sealed class SimParent
{
    /// <summary>Most pieces one parent serves one download at once (the agent's ParentLink.MaxInFlight).</summary>
    public const int MaxInFlight = 2;

    public SimParent(LayerDownload source)
    {
        Source = source;
    }

    /// <summary>The parent's own download of the same layer: what it holds is what it can serve.</summary>
    public LayerDownload Source { get; }

    public int InFlight { get; set; }
    public int Failures { get; set; }
    public bool Dead { get; set; }
    public bool Corrupt { get; set; }
    public double BusyUntil { get; set; }

    public bool Holds(int piece) => !Dead && Source.Has(piece);

    public bool CanServe(int piece, double now) => Holds(piece) && InFlight < MaxInFlight && BusyUntil <= now;
}
