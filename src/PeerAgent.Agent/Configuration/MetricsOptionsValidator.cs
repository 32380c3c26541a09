using PeerAgent.Core.Hosting;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="MetricsOptions"/>.</summary>
internal sealed class MetricsOptionsValidator : OptionsValidator<MetricsOptions>
{
    protected override void Validate(MetricsOptions options, ICollection<string> errors)
    {
        if (!ListenEndpoint.TryParse(options.ListenUrl, out var error, out _))
        {
            errors.Add($"Metrics:ListenUrl {error}.");
        }
    }
}
