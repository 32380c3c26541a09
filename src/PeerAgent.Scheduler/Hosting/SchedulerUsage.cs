using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduler.Topology;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>What <c>--help</c> prints for the scheduler process; defaults come from the options classes themselves.</summary>
internal static class SchedulerUsage
{
    public static Usage Create()
    {
        var host = new SchedulerHostOptions();
        var metrics = new SchedulerMetricsOptions();
        var options = new SchedulerOptions();
        const string S = SchedulerOptions.Section;
        return new Usage
        {
            Command = "PeerAgent.Scheduler",
            Summary = "The PeerAgent scheduler: agents announce their downloads to it over gRPC and it tells each one which\n"
                + "peers to fetch pieces from and which may read the origin registry.",
            Version = Usage.VersionOf(typeof(SchedulerUsage).Assembly),
            Example = "Scheduler:FanOutLimit=16",
            Keys =
            [
                new($"{SchedulerHostOptions.Section}:ListenUrl", host.ListenUrl, "gRPC listener (mutual TLS) the agents' Scheduler:Address points at"),
                new($"{SchedulerMetricsOptions.Section}:ListenUrl", metrics.ListenUrl, "/metrics, /healthz, /readyz (a port of its own)"),
                new($"{S}:FanOutLimit", Usage.Format(options.FanOutLimit), "children one peer feeds at once in one task"),
                new($"{S}:BackToSourceQuota", Usage.Format(options.BackToSourceQuota), "peers per task reading the origin at once"),
                new($"{S}:ZoneLeaders", Usage.Format(options.ZoneLeaders), "peers per zone and task that may take parents outside their zone (0: off)"),
                new($"{S}:StripeBackToSource", Usage.Format(options.StripeBackToSource), "grant every origin slot up front, each a disjoint piece range"),
                new($"{S}:HostExpiry", Usage.Format(options.HostExpiry), "a host silent this long is dropped with its peers"),
                new($"{KubernetesOptions.Section}:Mode", new KubernetesOptions().Mode, "zones from Node labels (auto: if in a pod or a kubeconfig exists; enabled: required; disabled)"),
                new($"{KubernetesOptions.Section}:Kubeconfig", "(none)", "kubeconfig file; empty: $KUBECONFIG, then ~/.kube/config"),
                new($"{KubernetesOptions.Section}:ShardService", "(none)", "Service whose EndpointSlices (port grpc) list the replicas sharing the blobs; empty: one replica"),
                new($"{KubernetesOptions.Section}:Namespace", "(pod's own)", "namespace of Kubernetes:ShardService; empty: the pod's namespace, else default"),
                new("Tls:CaFile", "(none)", "the cluster CA (PEM); with Tls:CertFile and Tls:KeyFile, required (PeerAgent.Agent certs makes them)"),
                new("Tls:AllowInsecure", "false", "true: plaintext h2c, with an http:// Scheduler:ListenUrl"),
            ],
        };
    }
}
