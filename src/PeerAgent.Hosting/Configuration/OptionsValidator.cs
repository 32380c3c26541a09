using Microsoft.Extensions.Options;

namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// A section's validator: collects every problem instead of stopping at the first, each message starting with the
/// full key and naming the bad value (never a secret).
/// </summary>
public abstract class OptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        Validate(options, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Adds one message per problem to <paramref name="errors"/>.</summary>
    protected abstract void Validate(TOptions options, ICollection<string> errors);
}
