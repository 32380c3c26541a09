using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Upstreams;

/// <summary>
/// Resolves a mirror request to its upstream registry and repository, and owns one
/// <see cref="UpstreamRegistry"/> per registry host.
/// </summary>
internal sealed class UpstreamRegistries : IDisposable
{
    // Hosts come from the client's ns query; bound how many unconfigured ones get a client of their own.
    private const int MaxRegistries = 256;

    private readonly ConcurrentDictionary<string, UpstreamRegistry> _registries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RegistryOptions> _configured;
    private readonly string _defaultRegistry;
    private readonly UpstreamOptions _upstream;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public UpstreamRegistries(
        IOptions<MirrorOptions> mirror,
        IOptions<UpstreamOptions> upstream,
        IOptions<List<RegistryOptions>> registries,
        TimeProvider timeProvider,
        ILogger<UpstreamRegistry> logger)
    {
        _defaultRegistry = RegistryHosts.Canonicalize(mirror.Value.DefaultRegistry);
        _upstream = upstream.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _configured = registries.Value.ToDictionary(r => RegistryHosts.Canonicalize(r.Host), StringComparer.Ordinal);
    }

    /// <summary>
    /// Picks the upstream: containerd's <c>ns</c> query first; else a registry host as the first path
    /// component (a podman mirror location such as <c>127.0.0.1:65001/ghcr.io</c>); else the default registry.
    /// Returns null with an error message when the host or name is unusable.
    /// </summary>
    public UpstreamTarget? Resolve(string? ns, string name, out string? error)
    {
        string host;
        string repository;
        if (!string.IsNullOrEmpty(ns))
        {
            host = ns;
            repository = name;
        }
        else if (name.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 && RegistryHosts.LooksLikeHost(name[..slash]))
        {
            host = name[..slash];
            repository = name[(slash + 1)..];
        }
        else
        {
            host = _defaultRegistry;
            repository = name;
        }

        if (!RegistryHosts.IsValidHost(host))
        {
            error = $"'{host}' is not a registry host";
            return null;
        }

        host = RegistryHosts.Canonicalize(host);
        repository = RegistryHosts.NormalizeRepository(host, repository);
        if (!Core.Oci.OciNames.IsValidRepository(repository))
        {
            error = $"invalid repository name '{repository}'";
            return null;
        }

        var registry = Get(host);
        if (registry is null)
        {
            error = "too many distinct upstream registries";
            return null;
        }

        error = null;
        return new UpstreamTarget(registry, repository);
    }

    private UpstreamRegistry? Get(string host)
    {
        if (_registries.TryGetValue(host, out var registry))
        {
            return registry;
        }

        if (_registries.Count >= MaxRegistries && !_configured.ContainsKey(host))
        {
            return null;
        }

        _configured.TryGetValue(host, out var options);
        var created = new UpstreamRegistry(host, options, _upstream, _timeProvider, _logger);
        if (_registries.TryAdd(host, created))
        {
            return created;
        }

        created.Dispose();
        return _registries[host];
    }

    public void Dispose()
    {
        foreach (var registry in _registries.Values)
        {
            registry.Dispose();
        }
    }
}
