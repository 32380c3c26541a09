using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduling.Hosting;

/// <summary>
/// Checks <see cref="SchedulerOptions"/>, naming keys in the section they were read from: <c>Scheduler</c> in the
/// scheduler process, <c>EmbeddedScheduler</c> in an agent.
/// </summary>
internal sealed class SchedulerOptionsValidator(string section) : OptionsValidator<SchedulerOptions>
{
    protected override void Validate(SchedulerOptions options, ICollection<string> errors)
    {
        foreach (var error in options.Validate(section))
        {
            errors.Add(error);
        }
    }
}
