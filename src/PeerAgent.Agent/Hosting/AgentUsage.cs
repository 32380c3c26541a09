using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Hosting;

/// <summary>What <c>--help</c> prints for the agent; defaults come from the options classes themselves.</summary>
internal static class AgentUsage
{
    public static Usage Create()
    {
        var mirror = new MirrorOptions();
        var metrics = new MetricsOptions();
        var store = new StoreOptions();
        var peer = new PeerOptions();
        var scheduler = new SchedulerClientOptions();
        return new Usage
        {
            Command = "PeerAgent.Agent",
            Summary = "The PeerAgent node agent: a registry mirror for the node's container runtime that fetches image blobs\n"
                + "as pieces from other nodes' agents, or from the origin registry when the scheduler says so.",
            Version = Usage.VersionOf(typeof(AgentUsage).Assembly),
            Example = "Store:DataDir=/var/lib/peeragent",
            Keys =
            [
                new("Mirror:ListenUrl", mirror.ListenUrl, "the registry mirror (loopback unless Mirror:AllowNonLoopback=true)"),
                new("Mirror:DefaultRegistry", mirror.DefaultRegistry, "upstream for requests that name none"),
                new("DockerMirror:Enabled", "false", "true: HTTPS for Docker Engine by distribution domain (installer --runtime docker; DockerMirror:*)"),
                new("Metrics:ListenUrl", metrics.ListenUrl, "/metrics, /healthz, /readyz"),
                new("Store:DataDir", store.DataDir, "where blobs and partial downloads live"),
                new("Store:QuotaBytes", Usage.Format(store.QuotaBytes), "disk the store may use"),
                new("Registries:N:Host", "(none)", "an upstream registry's settings: Endpoint, PlainHttp, CaFile, Public, credentials"),
                new("Peer:ListenUrl", peer.ListenUrl, "the peer gRPC service other agents fetch pieces from (mutual TLS)"),
                new("Peer:AdvertiseUrl", Usage.Format(peer.AdvertiseUrl), "how other agents reach this one; empty: guessed from the node"),
                new("Node:Name", "(host name)", "the Kubernetes node name"),
                new("Scheduler:Address", Usage.Format(scheduler.Address), "the scheduler's gRPC address; empty: run it in-process"),
                new($"{AgentConfiguration.EmbeddedSchedulerSection}:*", "", "the in-process scheduler's tuning (FanOutLimit, BackToSourceQuota, ...)"),
                new("Tls:CaFile", "(none)", "the cluster CA (PEM); with Tls:CertFile and Tls:KeyFile, required (certs ca / certs issue make them)"),
                new("Tls:AllowInsecure", "false", "true: plaintext h2c on the peer port, with http:// peer and scheduler URLs"),
            ],
        };
    }
}
