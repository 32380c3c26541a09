using System.Globalization;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks the <c>Registries</c> array: valid unique hosts, usable endpoints and files, node credentials only where cluster-trusted.</summary>
internal sealed class RegistriesValidator : OptionsValidator<List<RegistryOptions>>
{
    protected override void Validate(List<RegistryOptions> options, ICollection<string> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Count; i++)
        {
            ValidateRegistry(options[i], $"{RegistryOptions.Section}:{i.ToString(CultureInfo.InvariantCulture)}", seen, errors);
        }
    }

    private static void ValidateRegistry(RegistryOptions registry, string key, HashSet<string> seen, ICollection<string> errors)
    {
        if (!RegistryHosts.IsValidHost(registry.Host))
        {
            errors.Add($"{key}:Host '{registry.Host}' is not a registry host such as ghcr.io or 127.0.0.1:5000.");
        }
        else if (!seen.Add(RegistryHosts.Canonicalize(registry.Host)))
        {
            errors.Add($"{key}:Host '{registry.Host}' is configured twice.");
        }

        if (registry.Endpoint is not null
            && (!Uri.TryCreate(registry.Endpoint, UriKind.Absolute, out var endpoint)
                || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{key}:Endpoint '{registry.Endpoint}' is not an absolute http(s) URL.");
        }

        if (registry.CaFile is not null && !File.Exists(registry.CaFile))
        {
            errors.Add($"{key}:CaFile '{registry.CaFile}' does not exist.");
        }

        var hasPassword = registry.Password is not null || registry.PasswordFile is not null;
        if (registry.Password is not null && registry.PasswordFile is not null)
        {
            errors.Add($"{key}: set Password or PasswordFile, not both.");
        }

        if (registry.PasswordFile is not null && !File.Exists(registry.PasswordFile))
        {
            errors.Add($"{key}:PasswordFile '{registry.PasswordFile}' does not exist.");
        }

        if (string.IsNullOrEmpty(registry.Username) == hasPassword)
        {
            errors.Add($"{key}: Username and a password (Password or PasswordFile) go together.");
        }
        else if (hasPassword && !registry.Public)
        {
            // Node credentials on a private registry would let any requester read what they unlock.
            errors.Add($"{key}: node credentials need {key}:Public=true (cluster-trusted); without it the agent only forwards each client's own credentials.");
        }
    }
}
