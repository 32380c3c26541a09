using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduling.Service;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduling.Hosting;

/// <summary>
/// The scheduling library's public surface: the scheduler process and an agent that runs the scheduler in-process
/// when no scheduler address is configured put it into their host with the same three calls, and see nothing else.
/// </summary>
public static class SchedulerServiceCollectionExtensions
{
    /// <summary>
    /// Binds the scheduling options (FanOutLimit, BackToSourceQuota, ZoneLeaders, ...) to <paramref name="section"/>
    /// (<c>Scheduler</c> in the scheduler process, <c>EmbeddedScheduler</c> in an agent) and checks them at start,
    /// naming each bad key in that section.
    /// </summary>
    public static IServiceCollection AddPeerAgentSchedulerOptions(this IServiceCollection services, IConfiguration configuration, string section) =>
        services.AddSectionOptions(configuration, section, new SchedulerOptionsValidator(section));

    /// <summary>
    /// Registers the scheduler core, the Announce stream registry, the sweeper (a hosted service) and gRPC. The host
    /// binds the options first (<see cref="AddPeerAgentSchedulerOptions"/>); an invalid value throws
    /// <see cref="OptionsValidationException"/> naming the key when the scheduler is first resolved.
    /// <see cref="TimeProvider"/> is added only if none is registered, so tests can bring a fake clock.
    /// </summary>
    public static IServiceCollection AddPeerAgentScheduler(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new SwarmScheduler(
            sp.GetRequiredService<IOptions<SchedulerOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SwarmScheduler>>()));
        // The agent's embedded scheduler and a scheduler process without Kubernetes use the agents' own labels.
        services.TryAddSingleton<INodeTopology, AgentReportedTopology>();
        // The scheduler process registers its EndpointSlice informer first when Kubernetes:ShardService is set.
        services.TryAddSingleton<IShardDirectory, SingleReplica>();
        services.TryAddSingleton<HostPlacements>();
        services.TryAddSingleton<SchedulerIdentity>();
        services.TryAddSingleton<AnnounceStreams>();
        services.TryAddSingleton<Decisions>();
        services.AddHostedService<SchedulerSweeper>();

        // Per-service limits, so an agent's tighter global limit (peer requests are tiny) does not cut off a
        // download_finished that carries one sha256 per piece (thousands for a very large blob).
        services.AddGrpc().AddServiceOptions<SchedulerService>(grpc =>
        {
            grpc.MaxReceiveMessageSize = 4 * 1024 * 1024;
            grpc.MaxSendMessageSize = 4 * 1024 * 1024;
        });
        return services;
    }

    /// <summary>Maps the Scheduler gRPC service; restrict it to a listener with the returned builder (e.g. RequireHost).</summary>
    public static GrpcServiceEndpointConventionBuilder MapPeerAgentScheduler(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<SchedulerService>();
}
