using PeerAgent.Agent.Swarm;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="SchedulerClientOptions"/>: an http(s) address when one is set, positive intervals.</summary>
internal sealed class SchedulerClientOptionsValidator : OptionsValidator<SchedulerClientOptions>
{
    private const string Section = SchedulerClientOptions.Section;

    protected override void Validate(SchedulerClientOptions options, ICollection<string> errors)
    {
        if (!options.IsEmbedded
            && (!Uri.TryCreate(options.Address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{Section}:Address '{options.Address}' is not an http(s)://host:port URL.");
        }

        RequirePositive(options.ConnectTimeout, nameof(SchedulerClientOptions.ConnectTimeout), errors);
        RequirePositive(options.RetryAfterFailure, nameof(SchedulerClientOptions.RetryAfterFailure), errors);
        RequirePositive(options.HeartbeatInterval, nameof(SchedulerClientOptions.HeartbeatInterval), errors);
    }

    private static void RequirePositive(TimeSpan value, string name, ICollection<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:{name} must be positive, not {value}.");
        }
    }
}
