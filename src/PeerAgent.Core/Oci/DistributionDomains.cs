using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace PeerAgent.Core.Oci;

/// <summary>
/// The distribution domain a registry gets for Docker Engine ("the seeds' way"): a host name that resolves to the
/// node's agent, made from a pattern. The installer and the agent both call this, so they cannot disagree on a name.
/// </summary>
public static class DistributionDomains
{
    /// <summary>The placeholder a pattern must hold once: the registry host, ':' written as '-'.</summary>
    public const string Placeholder = "{registry}";

    public const string DefaultPattern = "{registry}.peeragent.internal";

    private const int MaxLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>
    /// The domain for <paramref name="registry"/> (a registry host as <see cref="RegistryHosts.IsValidHost"/> accepts it):
    /// the pattern with <see cref="Placeholder"/> replaced by the canonical host, lower case, ':' replaced by '-'.
    /// False with a reason when the pattern or the result is not a usable DNS name.
    /// </summary>
    public static bool TryGetDomain(string pattern, string registry, [NotNullWhen(true)] out string? domain, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(registry);
        domain = null;
        if (!TryCheckPatternShape(pattern, out error))
        {
            return false;
        }

        if (!RegistryHosts.IsValidHost(registry))
        {
            error = $"'{registry}' is not a registry host";
            return false;
        }

        var canonical = RegistryHosts.Canonicalize(registry);
        var name = canonical.Replace(':', '-');
        var candidate = pattern.Replace(Placeholder, name, StringComparison.Ordinal).ToLowerInvariant();
        if (!IsDnsName(candidate, out var reason))
        {
            error = $"pattern '{pattern}' gives '{candidate}' for registry {registry}, which is not a DNS name: {reason}";
            return false;
        }

        if (candidate == name)
        {
            // The registry's own name would resolve to the agent, which could then no longer reach the registry.
            error = $"pattern '{pattern}' gives the registry's own name '{candidate}'; add a prefix or suffix such as {DefaultPattern}";
            return false;
        }

        domain = candidate;
        error = null;
        return true;
    }

    /// <summary>Checks a pattern on its own: one placeholder, and a DNS name for a typical registry (docker.io).</summary>
    public static bool TryValidatePattern(string? pattern, [NotNullWhen(false)] out string? error)
    {
        if (pattern is null)
        {
            error = "is empty";
            return false;
        }

        return TryGetDomain(pattern, RegistryHosts.DockerHub, out _, out error);
    }

    private static bool TryCheckPatternShape(string pattern, [NotNullWhen(false)] out string? error)
    {
        var first = pattern.IndexOf(Placeholder, StringComparison.Ordinal);
        if (first < 0 || pattern.IndexOf(Placeholder, first + 1, StringComparison.Ordinal) >= 0)
        {
            error = $"pattern '{pattern}' must contain {Placeholder} exactly once";
            return false;
        }

        error = null;
        return true;
    }

    // Letters, digits and hyphens in labels of 1-63 characters, not starting or ending with a hyphen, at least two
    // labels (Docker reads a first path component without a dot as a Docker Hub namespace), and not an IP address.
    private static bool IsDnsName(string name, [NotNullWhen(false)] out string? reason)
    {
        if (name.Length > MaxLength)
        {
            reason = $"longer than {MaxLength} characters";
            return false;
        }

        var labels = name.Split('.');
        if (labels.Length < 2)
        {
            reason = "it needs a dot, or Docker reads it as a Docker Hub namespace";
            return false;
        }

        foreach (var label in labels)
        {
            if (label.Length is 0 or > MaxLabelLength)
            {
                reason = $"label '{label}' must have 1 to {MaxLabelLength} characters";
                return false;
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                reason = $"label '{label}' starts or ends with '-'";
                return false;
            }

            foreach (var c in label)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
                {
                    reason = $"label '{label}' holds '{c}' (only letters, digits and '-' are allowed)";
                    return false;
                }
            }
        }

        if (IPAddress.TryParse(name, out _) || labels[^1].All(char.IsAsciiDigit))
        {
            reason = "it reads as an IP address";
            return false;
        }

        reason = null;
        return true;
    }
}
