using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Scheduler.Scheduling;
using PeerAgent.Scheduler.Service;
using PeerAgent.Scheduler.Topology;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>
/// Puts the scheduler into a host: the scheduler process (<see cref="SchedulerApp"/>) and an agent that runs it
/// in-process when no scheduler address is configured use the same two calls.
/// </summary>
internal static class SchedulerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the scheduler core, the Announce stream registry, the sweeper (a hosted service) and gRPC. The host
    /// binds <see cref="SchedulerOptions"/> to its section (<c>AddSectionOptions</c>); an invalid value throws
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
