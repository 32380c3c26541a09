using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Hosting.Tls;
using PeerAgent.Scheduling.Hosting;

namespace PeerAgent.Agent.Configuration;

/// <summary>The sections the agent owns. Every key under them is checked at start; any other section is left alone.</summary>
internal static class AgentConfiguration
{
    /// <summary>The embedded scheduler's tuning keys; <c>Scheduler:*</c> in the agent is only how it reaches a scheduler.</summary>
    public const string EmbeddedSchedulerSection = "EmbeddedScheduler";

    /// <summary>Binds and validates every section; adding a section is one line here.</summary>
    public static IServiceCollection AddAgentOptions(this IServiceCollection services, IConfiguration configuration) =>
        services
            .AddSectionOptions(configuration, MirrorOptions.Section, new MirrorOptionsValidator())
            .AddSectionOptions(configuration, DockerMirrorOptions.Section, new DockerMirrorOptionsValidator(configuration))
            .AddSectionOptions(configuration, MetricsOptions.Section, new MetricsOptionsValidator())
            .AddSectionOptions(configuration, StoreOptions.Section, new StoreOptionsValidator())
            .AddSectionOptions(configuration, UpstreamOptions.Section, new UpstreamOptionsValidator())
            .AddSectionOptions(configuration, RegistryOptions.Section, new RegistriesValidator())
            .AddSectionOptions(configuration, PeerOptions.Section, new PeerOptionsValidator())
            .AddSectionOptions<NodeOptions>(configuration, NodeOptions.Section)
            .AddSectionOptions(configuration, SchedulerClientOptions.Section, new SchedulerClientOptionsValidator())
            .AddPeerAgentSchedulerOptions(configuration, EmbeddedSchedulerSection)
            .AddTlsOptions(
                configuration,
                ($"{PeerOptions.Section}:{nameof(PeerOptions.ListenUrl)}", new PeerOptions().ListenUrl),
                ($"{PeerOptions.Section}:{nameof(PeerOptions.AdvertiseUrl)}", ""),
                ($"{SchedulerClientOptions.Section}:{nameof(SchedulerClientOptions.Address)}", ""));

    /// <summary>
    /// Whether the agent runs the scheduler itself. Read from configuration because it decides which services exist,
    /// before the options can be resolved; it is the same test as <see cref="SchedulerClientOptions.IsEmbedded"/>
    /// on the same value, which the options validation then checks.
    /// </summary>
    public static bool IsSchedulerEmbedded(IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(configuration[$"{SchedulerClientOptions.Section}:{nameof(SchedulerClientOptions.Address)}"]);
}
