namespace PeerAgent.Scheduling.Swarm;

/// <summary>What a child should do next.</summary>
internal enum ScheduleOutcome
{
    /// <summary>Fetch from the parents given.</summary>
    Parents,

    /// <summary>Fetch <see cref="ScheduleDecision.Stripe"/> from the origin (and anything else from the parents given).</summary>
    BackToSource,

    /// <summary>No parent has anything useful and the back-to-source quota is full: ask again after <see cref="ScheduleDecision.RetryAfter"/>.</summary>
    Wait,

    /// <summary>The peer already has the whole blob.</summary>
    Finished,

    /// <summary>The scheduler does not know this peer (for example after a restart): announce again.</summary>
    Unknown,
}

/// <summary>A parent offered to a child, best first, with its zone and region (empty when unknown) for the child's locality metric.</summary>
internal readonly record struct ParentCandidate(string HostId, string PeerAddress, double Score, string Zone = "", string Region = "");

/// <summary>The scheduler's answer to a child asking where to get pieces.</summary>
internal sealed class ScheduleDecision
{
    private static readonly ParentCandidate[] NoParents = [];

    private ScheduleDecision(ScheduleOutcome outcome, ParentCandidate[] parents, PieceRange stripe, TimeSpan retryAfter)
    {
        Outcome = outcome;
        Parents = parents;
        Stripe = stripe;
        RetryAfter = retryAfter;
    }

    public ScheduleOutcome Outcome { get; }
    public IReadOnlyList<ParentCandidate> Parents { get; }

    /// <summary>Pieces to fetch from the origin; empty unless <see cref="ScheduleOutcome.BackToSource"/>.</summary>
    public PieceRange Stripe { get; }

    public TimeSpan RetryAfter { get; }

    public static ScheduleDecision Unknown { get; } = new(ScheduleOutcome.Unknown, NoParents, default, TimeSpan.Zero);
    public static ScheduleDecision Finished { get; } = new(ScheduleOutcome.Finished, NoParents, default, TimeSpan.Zero);

    public static ScheduleDecision WithParents(ParentCandidate[] parents) => new(ScheduleOutcome.Parents, parents, default, TimeSpan.Zero);
    public static ScheduleDecision FromSource(PieceRange stripe, ParentCandidate[] parents) => new(ScheduleOutcome.BackToSource, parents, stripe, TimeSpan.Zero);
    public static ScheduleDecision Wait(TimeSpan retryAfter) => new(ScheduleOutcome.Wait, NoParents, default, retryAfter);
}

/// <summary>What <see cref="SwarmScheduler.Sweep"/> changed, so the stream service can tell the affected agents.</summary>
/// <param name="ExpiredHosts">Hosts dropped for silence.</param>
/// <param name="Orphaned">Live peers that lost at least one parent since the last sweep: offer them new parents.</param>
/// <param name="RevokedBackToSource">Peers whose back-to-source slot was taken away (stalled): tell them to stop reading the origin.</param>
internal sealed record SweepResult(
    IReadOnlyList<string> ExpiredHosts,
    IReadOnlyList<PeerRef> Orphaned,
    IReadOnlyList<PeerRef> RevokedBackToSource);

/// <summary>Names one peer: a task digest and a host id.</summary>
internal readonly record struct PeerRef(PeerAgent.Core.Oci.Digest Task, string HostId);

/// <summary>Result of announcing a peer.</summary>
internal enum AnnounceResult
{
    Registered,
    UnknownHost,
    LengthMismatch,
    BadBitmap,
}
