namespace PeerAgent.Simulator;

/// <summary>What the scheduler's calls cost and decided over one run (see <see cref="MeteredScheduler"/>).</summary>
internal sealed record SchedulerCounters(double Seconds, long Calls, long Decisions, long ParentDecisions, long BackToSourceDecisions, long WaitDecisions);
