using PeerAgent.Core.Hosting;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Checks <see cref="SchedulerHostOptions"/>.</summary>
internal sealed class SchedulerHostOptionsValidator : OptionsValidator<SchedulerHostOptions>
{
    protected override void Validate(SchedulerHostOptions options, ICollection<string> errors)
    {
        if (!ListenEndpoint.TryParse(options.ListenUrl, allowHttps: true, out var error, out _))
        {
            errors.Add($"{SchedulerHostOptions.Section}:ListenUrl {error}.");
        }
    }
}
