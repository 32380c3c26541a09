using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Hosting.Tls;

/// <summary>Checks <see cref="TlsOptions"/> at start: the files load, match and are valid now (see <see cref="TlsOptions.Validate"/>).</summary>
public sealed class TlsOptionsValidator(TimeProvider time) : OptionsValidator<TlsOptions>
{
    protected override void Validate(TlsOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var error in options.Validate(time.GetUtcNow()))
        {
            errors.Add(error);
        }
    }
}
