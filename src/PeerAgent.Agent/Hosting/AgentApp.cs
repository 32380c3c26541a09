using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Hosting;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting;
using PeerAgent.Hosting.Tls;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduler.Scheduling;

namespace PeerAgent.Agent.Hosting;

/// <summary>Builds the agent: configuration, the mirror, peer and operations listeners, services and their pipelines.</summary>
internal static class AgentApp
{
    private const string MirrorListener = "mirror";
    private const string PeerListener = "peer";
    private const string OperationsListener = "operations";

    /// <summary>
    /// Configuration comes from appsettings.json beside the binary, then <c>PEERAGENT_</c> environment variables
    /// (<c>PEERAGENT_Store__DataDir</c>), then the command line (<c>--Store:DataDir=…</c>), later ones winning.
    /// Returns null and every configuration error, each naming its key, when the configuration is unusable.
    /// </summary>
    public static WebApplication? Build(string[] args, out IReadOnlyList<string> errors)
    {
        OperationsEndpoint.SuppressNoisyDefaultMetrics();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("PEERAGENT_");
        builder.Configuration.AddCommandLine(args);

        MirrorOptions mirror;
        MetricsOptions metrics;
        PeerOptions peer;
        NodeOptions node;
        SchedulerClientOptions scheduler;
        SchedulerOptions? embedded = null;
        TlsOptions tls;
        try
        {
            var bound = AgentOptionsValidator.Bind(builder.Configuration);
            var all = new List<string>(AgentOptionsValidator.Validate(bound.Item1, bound.Item2, bound.Item3, bound.Item4, bound.Item5));
            (mirror, metrics) = (bound.Item1, bound.Item2);
            peer = builder.Configuration.GetSection(PeerOptions.Section).Get<PeerOptions>() ?? new();
            node = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new();
            scheduler = builder.Configuration.GetSection(SchedulerClientOptions.Section).Get<SchedulerClientOptions>() ?? new();
            all.AddRange(peer.Validate());
            all.AddRange(scheduler.Validate());
            if (scheduler.IsEmbedded)
            {
                embedded = SchedulerConfiguration.Bind(builder.Configuration, out var schedulerErrors);
                all.AddRange(schedulerErrors);
            }

            // --- Tls: mutual TLS on the peer listener and the peer and scheduler clients ---
            tls = TlsOptions.Bind(builder.Configuration, all);
            all.AddRange(tls.Validate(TimeProvider.System.GetUtcNow()));
            all.AddRange(tls.CheckSchemes(("Peer:ListenUrl", peer.ListenUrl), ("Peer:AdvertiseUrl", peer.AdvertiseUrl), ("Scheduler:Address", scheduler.Address)));
            // --- end Tls ---

            errors = all;
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and value it could not convert.
            errors = [ex.Message];
            return null;
        }

        if (errors.Count > 0)
        {
            return null;
        }

        ListenEndpoint.TryParse(mirror.ListenUrl, out _, out var mirrorEndpoint);
        ListenEndpoint.TryParse(metrics.ListenUrl, out _, out var operationsEndpoint);
        ListenEndpoint.TryParse(peer.ListenUrl, allowHttps: true, out _, out var peerEndpoint);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // The mirror (loopback, for the runtime) and operations listeners stay plain HTTP; the peer listener,
            // which also serves an embedded scheduler, is mutual TLS unless Tls:AllowInsecure=true.
            Listeners.Listen(kestrel, mirrorEndpoint, MirrorListener, HttpProtocols.Http1);
            Listeners.Listen(kestrel, operationsEndpoint, OperationsListener, HttpProtocols.Http1);
            Listeners.Listen(kestrel, peerEndpoint, PeerListener, HttpProtocols.Http2, kestrel.ApplicationServices.GetRequiredService<TransportSecurity>());
        });

        builder.Services
            .AddPeerAgentTls(tls)
            .AddPeerAgentStore(builder.Configuration)
            .AddPeerAgentMirror(builder.Configuration)
            .AddPeerAgentSwarm(peer, node, scheduler);
        if (embedded is not null)
        {
            // No scheduler configured: run one in-process, served on the peer listener (see SchedulerConnection).
            builder.Services.AddPeerAgentScheduler(embedded);
        }

        var app = builder.Build();

        // The listeners open only after the store recovered (RunAsync), so answering at all means ready.
        OperationsEndpoint.Map(app, OperationsListener);
        var endpoint = app.Services.GetRequiredService<MirrorEndpoint>();
        app.MapWhen(context => Listeners.Is(context, MirrorListener), branch => branch.Run(endpoint.HandleAsync));

        // gRPC endpoints: the mirror and operations branches above end every request of theirs, so only
        // requests on the peer listener get this far.
        app.MapPeerService();
        if (embedded is not null)
        {
            app.MapPeerAgentScheduler();
        }

        return app;
    }

    /// <summary>Recovers the store (crash recovery runs before the mirror takes requests) and runs until stopped.</summary>
    public static async Task RunAsync(WebApplication app)
    {
        var store = app.Services.GetRequiredService<ContentStore>();
        await store.InitializeAsync(app.Lifetime.ApplicationStopping);
        AgentMetrics.ObserveStore(store);
        await app.RunAsync();
    }
}
