using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// Which upstream registry a request on the Docker endpoint is for, by its Host: each configured registry's
/// distribution domain (<see cref="DistributionDomains"/>, the installer's own naming) maps back to that registry.
/// </summary>
internal sealed class DistributionDomainMap
{
    private readonly Dictionary<string, string> _registries;

    private DistributionDomainMap(Dictionary<string, string> registries) => _registries = registries;

    /// <summary>Domain to canonical registry host.</summary>
    public IReadOnlyDictionary<string, string> Registries => _registries;

    /// <summary>
    /// The map for <paramref name="hosts"/> (the agent's <c>Registries:N:Host</c> and <c>Mirror:DefaultRegistry</c>).
    /// A host the pattern cannot name (an IPv6 literal) has no domain; two hosts with one domain are an error.
    /// </summary>
    public static DistributionDomainMap Create(string pattern, IEnumerable<string> hosts, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(errors);
        var registries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            if (!RegistryHosts.IsValidHost(host) || !DistributionDomains.TryGetDomain(pattern, host, out var domain, out _))
            {
                continue;
            }

            var registry = RegistryHosts.Canonicalize(host);
            if (registries.TryGetValue(domain, out var other) && other != registry)
            {
                errors.Add($"DockerMirror:DomainPattern '{pattern}' gives registries {other} and {registry} the same domain {domain}.");
                continue;
            }

            registries[domain] = registry;
        }

        return new DistributionDomainMap(registries);
    }

    /// <summary>The registry whose domain <paramref name="host"/> is (a Host header without its port, or an SNI name); null for none.</summary>
    public string? RegistryFor(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return null;
        }

        var name = host.TrimEnd('.').ToLowerInvariant();
        return _registries.GetValueOrDefault(name);
    }
}
