using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerAgent.Agent.Peers;

namespace PeerAgent.Agent.Swarm;

/// <summary>Registers the swarm downloader's parts: the scheduler connection, heartbeats and the parent client pool.</summary>
internal static class SwarmServiceCollectionExtensions
{
    /// <summary>The host binds <see cref="PeerOptions"/>, <see cref="NodeOptions"/> and <see cref="SchedulerClientOptions"/>.</summary>
    public static IServiceCollection AddPeerAgentSwarm(this IServiceCollection services)
    {
        services.AddPeerService();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SchedulerConnection>();
        services.TryAddSingleton<PeerClients>();
        services.TryAddSingleton<IParentClients>(sp => sp.GetRequiredService<PeerClients>());
        services.TryAddSingleton<RecentSeeds>();
        services.AddHostedService<SchedulerHeartbeats>();
        return services;
    }
}
