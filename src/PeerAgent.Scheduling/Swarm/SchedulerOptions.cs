using System.Globalization;

namespace PeerAgent.Scheduling.Swarm;

/// <summary>
/// How the scheduler picks parents, bounds origin traffic and forgets silent agents: section <c>Scheduler</c> in the
/// scheduler process, <c>EmbeddedScheduler</c> in an agent that runs it in-process.
/// </summary>
internal sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Most children one peer may feed in one task at a time; bounds the tree's width and a parent's uplink share.</summary>
    public int FanOutLimit { get; set; } = 8;

    /// <summary>Most peers of one task allowed to fetch from the origin at once; this is what bounds origin egress.</summary>
    public int BackToSourceQuota { get; set; } = 1;

    /// <summary>
    /// Grant every back-to-source slot up front, each for a disjoint contiguous piece range, so the origin is read
    /// in parallel by several nodes (useful when one node's link is slower than the origin's).
    /// </summary>
    public bool StripeBackToSource { get; set; }

    /// <summary>
    /// Peers per zone and task allowed parents outside their zone, or the origin: the zone's leaders. Everyone else in
    /// the zone gets parents from the zone only, so each zone pulls a blob across its boundary about once. 0 turns
    /// zone-first selection off: topology then only weighs the score.
    /// </summary>
    public int ZoneLeaders { get; set; } = 1;

    /// <summary>Most parents handed to one child per decision.</summary>
    public int CandidateParentCount { get; set; } = 4;

    /// <summary>Most peers scored per decision; bounds a decision's cost however large the task grows.</summary>
    public int CandidateSampleSize { get; set; } = 64;

    /// <summary>Failures a child may report against one parent host before that host is never offered to it again.</summary>
    public int ParentFailureLimit { get; set; } = 3;

    /// <summary>A host that has not heartbeated for this long is dropped with all its peers.</summary>
    public TimeSpan HostExpiry { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A back-to-source peer that reports no finished piece for this long loses its slot to the next asker.</summary>
    public TimeSpan BackToSourceStallTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a child told to wait should wait before asking again.</summary>
    public TimeSpan WaitRetryInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// After a scheduler replica goes away, its blobs' downloads register again on their new owner, each with the
    /// pieces it holds. For this long after a blob is taken over that way, its back-to-source slot is kept for the
    /// peer that was already reading the origin (it registers with <c>from_source</c>), so the origin is not read
    /// twice just because the new owner heard from another peer first.
    /// </summary>
    public TimeSpan TakeoverGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the stream service sweeps: drops silent hosts and pushes new decisions to the peers that lost a parent.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Every problem at once, each naming its key and the bad value; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate() => Validate(Section);

    /// <summary>As <see cref="Validate()"/>, naming keys in <paramref name="section"/> (where these options were read from).</summary>
    public IReadOnlyList<string> Validate(string section)
    {
        var errors = new List<string>();
        RequireRange(FanOutLimit, 1, 1024, section, nameof(FanOutLimit), errors);
        RequireRange(BackToSourceQuota, 1, 64, section, nameof(BackToSourceQuota), errors);
        RequireRange(ZoneLeaders, 0, 64, section, nameof(ZoneLeaders), errors);
        RequireRange(CandidateParentCount, 1, 64, section, nameof(CandidateParentCount), errors);
        RequireRange(CandidateSampleSize, 1, 4096, section, nameof(CandidateSampleSize), errors);
        RequireRange(ParentFailureLimit, 1, 1000, section, nameof(ParentFailureLimit), errors);
        if (CandidateSampleSize < CandidateParentCount && CandidateParentCount is >= 1 and <= 64 && CandidateSampleSize >= 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{section}:{nameof(CandidateSampleSize)} ({CandidateSampleSize}) must be at least {section}:{nameof(CandidateParentCount)} ({CandidateParentCount})."));
        }

        RequirePositive(HostExpiry, section, nameof(HostExpiry), errors);
        RequirePositive(BackToSourceStallTimeout, section, nameof(BackToSourceStallTimeout), errors);
        RequirePositive(WaitRetryInterval, section, nameof(WaitRetryInterval), errors);
        RequirePositive(SweepInterval, section, nameof(SweepInterval), errors);
        if (TakeoverGrace < TimeSpan.Zero || TakeoverGrace > TimeSpan.FromMinutes(1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{section}:{nameof(TakeoverGrace)} must be between 00:00:00 and 00:01:00, not {TakeoverGrace}."));
        }

        return errors;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> listing every problem <see cref="Validate"/> finds.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid scheduler options: " + string.Join(" ", errors));
        }
    }

    private static void RequireRange(int value, int min, int max, string section, string key, List<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{section}:{key} must be between {min} and {max}, not {value}."));
        }
    }

    private static void RequirePositive(TimeSpan value, string section, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{section}:{key} must be positive, not {value}."));
        }
    }
}
