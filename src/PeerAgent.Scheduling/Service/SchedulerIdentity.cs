namespace PeerAgent.Scheduling.Service;

/// <summary>Random per process start; agents that see it change know the scheduler lost its state and re-announce.</summary>
internal sealed class SchedulerIdentity
{
    public string Id { get; } = Guid.NewGuid().ToString("N");
}
