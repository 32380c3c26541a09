using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Registers where the scheduler process takes zones and regions from (section <c>Kubernetes</c>).</summary>
internal static class TopologyServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="KubernetesOptions"/>, and registers <see cref="INodeTopology"/>: the Node informer when a Kubernetes
    /// API configuration is found (see <see cref="KubernetesSource.Find"/>), else <see cref="AgentReportedTopology"/>.
    /// Before <c>AddPeerAgentScheduler</c>, which adds <see cref="AgentReportedTopology"/> only if none is registered.
    /// </summary>
    public static IServiceCollection AddKubernetesTopology(this IServiceCollection services, IConfiguration configuration, KubernetesEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        environment ??= KubernetesEnvironment.System;
        services.AddSectionOptions(configuration, KubernetesOptions.Section, new KubernetesOptionsValidator(environment));
        services.TryAddSingleton(sp => KubernetesSource.Find(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value, environment));
        services.TryAddSingleton<INodeTopology>(sp =>
        {
            var source = sp.GetRequiredService<KubernetesSource>();
            if (!source.TryCreateConfiguration(out var configuration, out _) || configuration is null)
            {
                // Validated at start: only a source of None gets here.
                return new AgentReportedTopology();
            }

            return new NodeInformer(new Kubernetes(configuration), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<NodeInformer>>());
        });
        services.AddHostedService<TopologyHostedService>();
        return services;
    }
}
