using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="StoreOptions"/>.</summary>
internal sealed class StoreOptionsValidator : OptionsValidator<StoreOptions>
{
    protected override void Validate(StoreOptions options, ICollection<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            errors.Add("Store:DataDir is empty.");
        }

        if (options.QuotaBytes <= 0)
        {
            errors.Add($"Store:QuotaBytes must be positive, not {options.QuotaBytes}.");
        }
    }
}
