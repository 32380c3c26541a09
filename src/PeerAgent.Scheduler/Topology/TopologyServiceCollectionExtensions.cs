using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>Registers what the scheduler process reads from the Kubernetes API (section <c>Kubernetes</c>).</summary>
internal static class TopologyServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="KubernetesOptions"/> (an empty namespace becomes the pod's own, else <c>default</c>), and
    /// registers <see cref="INodeTopology"/>: the Node informer when a Kubernetes API configuration is found (see
    /// <see cref="KubernetesSource.Find"/>), else <see cref="AgentReportedTopology"/>; and <see cref="IShardDirectory"/>:
    /// the EndpointSlice informer when <c>Kubernetes:ShardService</c> is set, else <see cref="SingleReplica"/>. Both
    /// informers share one client and run in hosted services. Before <c>AddPeerAgentScheduler</c>, which adds the
    /// defaults only if none is registered.
    /// </summary>
    public static IServiceCollection AddKubernetesTopology(this IServiceCollection services, IConfiguration configuration, KubernetesEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        environment ??= KubernetesEnvironment.System;
        services.AddSectionOptions(configuration, KubernetesOptions.Section, new KubernetesOptionsValidator(environment));
        services.AddOptions<KubernetesOptions>().PostConfigure(options =>
        {
            if (string.IsNullOrWhiteSpace(options.Namespace))
            {
                options.Namespace = environment.PodNamespace() ?? KubernetesOptions.DefaultNamespace;
            }
        });
        services.TryAddSingleton(sp => KubernetesSource.Find(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value, environment));

        // Resolved only when the source is not None (validated at start), by whichever informer needs it first.
        services.TryAddSingleton<IKubernetes>(sp =>
        {
            var source = sp.GetRequiredService<KubernetesSource>();
            return source.TryCreateConfiguration(out var configuration, out var error) && configuration is not null
                ? new Kubernetes(configuration)
                : throw new InvalidOperationException(error ?? $"no Kubernetes API configuration ({source.Description})");
        });
        services.TryAddSingleton<INodeTopology>(sp =>
        {
            if (sp.GetRequiredService<KubernetesSource>().Kind == KubernetesSourceKind.None)
            {
                return new AgentReportedTopology();
            }

            return new NodeInformer(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<NodeInformer>>());
        });
        services.TryAddSingleton<IShardDirectory>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<KubernetesOptions>>().Value;
            if (string.IsNullOrEmpty(options.ShardService) || sp.GetRequiredService<KubernetesSource>().Kind == KubernetesSourceKind.None)
            {
                // Validated at start: a shard Service without a Kubernetes API is refused, so only "not sharded" gets here.
                return new SingleReplica();
            }

            var listenUrl = sp.GetRequiredService<IOptions<SchedulerHostOptions>>().Value.ListenUrl;
            return new EndpointSliceInformer(
                sp.GetRequiredService<IKubernetes>(),
                options.Namespace!,
                options.ShardService,
                EndpointSliceInformer.SchemeOf(listenUrl),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<EndpointSliceInformer>>());
        });
        services.AddHostedService<TopologyHostedService>();
        services.AddHostedService<ShardHostedService>();
        return services;
    }
}
