using System.Globalization;
using Microsoft.Extensions.Configuration;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Hosting;

namespace PeerAgent.Agent.Configuration;

/// <summary>
/// Checks the whole configuration at start and reports every problem at once, each naming its key,
/// so an operator fixes a bad values file in one go.
/// </summary>
internal static class AgentOptionsValidator
{
    public static IReadOnlyList<string> Validate(
        MirrorOptions mirror,
        MetricsOptions metrics,
        StoreOptions store,
        UpstreamOptions upstream,
        IReadOnlyList<RegistryOptions> registries)
    {
        var errors = new List<string>();

        if (!ListenEndpoint.TryParse(mirror.ListenUrl, out var error, out var mirrorEndpoint))
        {
            errors.Add($"Mirror:ListenUrl {error}.");
        }
        else if (!mirrorEndpoint.IsLoopback && !mirror.AllowNonLoopback)
        {
            errors.Add($"Mirror:ListenUrl '{mirror.ListenUrl}' is not a loopback address; set Mirror:AllowNonLoopback=true to expose the mirror.");
        }

        if (!ListenEndpoint.TryParse(metrics.ListenUrl, out error, out _))
        {
            errors.Add($"Metrics:ListenUrl {error}.");
        }

        if (!RegistryHosts.IsValidHost(mirror.DefaultRegistry))
        {
            errors.Add($"Mirror:DefaultRegistry '{mirror.DefaultRegistry}' is not a registry host such as docker.io or 127.0.0.1:5000.");
        }

        if (mirror.MaxManifestBytes <= 0)
        {
            errors.Add($"Mirror:MaxManifestBytes must be positive, not {mirror.MaxManifestBytes}.");
        }

        if (string.IsNullOrWhiteSpace(store.DataDir))
        {
            errors.Add("Store:DataDir is empty.");
        }

        if (store.QuotaBytes <= 0)
        {
            errors.Add($"Store:QuotaBytes must be positive, not {store.QuotaBytes}.");
        }

        ValidateUpstream(upstream, errors);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < registries.Count; i++)
        {
            ValidateRegistry(registries[i], $"{RegistryOptions.Section}:{i.ToString(CultureInfo.InvariantCulture)}", seen, errors);
        }

        return errors;
    }

    private static void ValidateUpstream(UpstreamOptions upstream, List<string> errors)
    {
        RequirePositive(upstream.AttemptTimeout, "Upstream:AttemptTimeout", errors);
        RequirePositive(upstream.BodyIdleTimeout, "Upstream:BodyIdleTimeout", errors);
        RequirePositive(upstream.BreakerSamplingDuration, "Upstream:BreakerSamplingDuration", errors);
        RequirePositive(upstream.BreakerBreakDuration, "Upstream:BreakerBreakDuration", errors);
        if (upstream.AuthCacheDuration < TimeSpan.Zero)
        {
            errors.Add($"Upstream:AuthCacheDuration must not be negative, not {upstream.AuthCacheDuration}.");
        }

        if (upstream.MaxRetries is < 0 or > 10)
        {
            errors.Add($"Upstream:MaxRetries must be between 0 and 10, not {upstream.MaxRetries}.");
        }

        if (upstream.RetryDelay < TimeSpan.Zero)
        {
            errors.Add($"Upstream:RetryDelay must not be negative, not {upstream.RetryDelay}.");
        }

        if (upstream.BreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"Upstream:BreakerFailureRatio must be in (0, 1], not {upstream.BreakerFailureRatio}.");
        }

        if (upstream.BreakerMinimumThroughput < 2)
        {
            errors.Add($"Upstream:BreakerMinimumThroughput must be at least 2, not {upstream.BreakerMinimumThroughput}.");
        }
    }

    private static void ValidateRegistry(RegistryOptions registry, string key, HashSet<string> seen, List<string> errors)
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

    private static void RequirePositive(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be positive, not {value}.");
        }
    }

    /// <summary>Binds every section; the registries array keeps configuration order.</summary>
    public static (MirrorOptions, MetricsOptions, StoreOptions, UpstreamOptions, List<RegistryOptions>) Bind(IConfiguration configuration)
    {
        var mirror = configuration.GetSection(MirrorOptions.Section).Get<MirrorOptions>() ?? new();
        var metrics = configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new();
        var store = configuration.GetSection(StoreOptions.Section).Get<StoreOptions>() ?? new();
        var upstream = configuration.GetSection(UpstreamOptions.Section).Get<UpstreamOptions>() ?? new();
        var registries = configuration.GetSection(RegistryOptions.Section).Get<List<RegistryOptions>>() ?? [];
        return (mirror, metrics, store, upstream, registries);
    }
}
