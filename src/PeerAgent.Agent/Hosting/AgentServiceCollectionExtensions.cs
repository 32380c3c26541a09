using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Auth;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Hosting;

/// <summary>Registers the agent's parts; TryAdd so tests can swap any of them.</summary>
internal static class AgentServiceCollectionExtensions
{
    /// <summary>The content store; the host binds <see cref="StoreOptions"/> (<see cref="AgentConfiguration.AddAgentOptions"/>).</summary>
    public static IServiceCollection AddPeerAgentStore(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StoreOptions>>().Value;
            return new ContentStore(
                new ContentStoreOptions { RootPath = options.DataDir, QuotaBytes = options.QuotaBytes },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ContentStore>>());
        });
        return services;
    }

    /// <summary>The mirror and its upstreams; the host binds their options (<see cref="AgentConfiguration.AddAgentOptions"/>).</summary>
    public static IServiceCollection AddPeerAgentMirror(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UpstreamRegistries>();
        services.TryAddSingleton<AccessChecker>();
        services.TryAddSingleton<BlobDownloader>();
        services.TryAddSingleton<ManifestCache>();
        services.TryAddSingleton<BlobHandler>();
        services.TryAddSingleton<ManifestHandler>();
        services.TryAddSingleton(sp =>
        {
            // Validated at start (DockerMirrorOptionsValidator reports collisions); here only the map is wanted.
            var hosts = sp.GetRequiredService<IOptions<List<RegistryOptions>>>().Value.Select(r => r.Host);
            return DistributionDomainMap.Create(
                sp.GetRequiredService<IOptions<DockerMirrorOptions>>().Value.DomainPattern,
                DockerMirrorOptionsValidator.ServedHosts(hosts, sp.GetRequiredService<IOptions<MirrorOptions>>().Value.DefaultRegistry),
                new List<string>());
        });
        services.TryAddSingleton<DockerCertificates>();
        services.TryAddSingleton<MirrorEndpoint>();
        return services;
    }
}
