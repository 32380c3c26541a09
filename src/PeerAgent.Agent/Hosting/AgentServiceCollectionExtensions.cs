using Microsoft.Extensions.Configuration;
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
    public static IServiceCollection AddPeerAgentStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<StoreOptions>(configuration.GetSection(StoreOptions.Section));
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

    public static IServiceCollection AddPeerAgentMirror(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<MirrorOptions>(configuration.GetSection(MirrorOptions.Section));
        services.Configure<UpstreamOptions>(configuration.GetSection(UpstreamOptions.Section));
        services.Configure<List<RegistryOptions>>(configuration.GetSection(RegistryOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UpstreamRegistries>();
        services.TryAddSingleton<AccessChecker>();
        services.TryAddSingleton<BlobDownloader>();
        services.TryAddSingleton<ManifestCache>();
        services.TryAddSingleton<BlobHandler>();
        services.TryAddSingleton<ManifestHandler>();
        services.TryAddSingleton<MirrorEndpoint>();
        return services;
    }
}
