using PeerAgent.Core.Hosting;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Checks <see cref="SchedulerMetricsOptions"/>.</summary>
internal sealed class SchedulerMetricsOptionsValidator : OptionsValidator<SchedulerMetricsOptions>
{
    protected override void Validate(SchedulerMetricsOptions options, ICollection<string> errors)
    {
        if (!ListenEndpoint.TryParse(options.ListenUrl, out var error, out _))
        {
            errors.Add($"{SchedulerMetricsOptions.Section}:ListenUrl {error}.");
        }
    }
}
