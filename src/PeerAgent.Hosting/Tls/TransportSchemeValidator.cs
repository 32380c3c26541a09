using Microsoft.Extensions.Configuration;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// Checks that every peer and scheduler URL of the process uses the scheme of its TLS mode: <c>https://</c> with
/// mutual TLS, <c>http://</c> when <see cref="TlsOptions.AllowInsecure"/> is true. The URLs belong to other sections,
/// so they are read from configuration (with their defaults) rather than from their options, whose own validators
/// report anything else wrong with them.
/// </summary>
public sealed class TransportSchemeValidator(IConfiguration configuration, IReadOnlyList<(string Key, string Default)> urls) : OptionsValidator<TlsOptions>
{
    protected override void Validate(TlsOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (key, fallback) in urls)
        {
            if (options.CheckScheme(key, configuration[key] ?? fallback) is { } error)
            {
                errors.Add(error);
            }
        }
    }
}
