using System.Text.RegularExpressions;

namespace PeerAgent.Core.Oci;

/// <summary>Registry host names the way Docker normalises them (docker.io and its aliases are one registry).</summary>
public static partial class RegistryHosts
{
    public const string DockerHub = "docker.io";

    /// <summary>Where docker.io is really served from.</summary>
    public const string DockerHubEndpoint = "https://registry-1.docker.io";

    public static bool IsValidHost(string? host) => host is not null && HostPattern().IsMatch(host);

    public static string Canonicalize(string host)
    {
        var lower = host.ToLowerInvariant();
        return lower is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? DockerHub : lower;
    }

    /// <summary>True when a first path component names a registry rather than a namespace, as Docker decides it.</summary>
    public static bool LooksLikeHost(string component) =>
        component == "localhost" || component.Contains('.', StringComparison.Ordinal) || component.Contains(':', StringComparison.Ordinal);

    /// <summary>Docker Hub's one-component names live under <c>library/</c>.</summary>
    public static string NormalizeRepository(string host, string repository) =>
        host == DockerHub && !repository.Contains('/', StringComparison.Ordinal) ? "library/" + repository : repository;

    // host or IPv4 (labels of letters, digits and hyphens) or [IPv6], with an optional port.
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex HostPattern();
}
