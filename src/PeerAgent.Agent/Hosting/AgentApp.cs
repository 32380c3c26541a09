using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Hosting;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Hosting.Tls;
using PeerAgent.Scheduling.Hosting;

namespace PeerAgent.Agent.Hosting;

/// <summary>Builds the agent: configuration, the mirror, peer and operations listeners, services and their pipelines.</summary>
internal static class AgentApp
{
    private const string MirrorListener = "mirror";
    private const string PeerListener = "peer";
    private const string OperationsListener = "operations";
    private const string DockerListener = "docker";

    /// <summary>
    /// Configuration comes from appsettings.json beside the binary, then <c>PEERAGENT_</c> environment variables
    /// (<c>PEERAGENT_Store__DataDir</c>), then the command line (<c>--Store:DataDir=…</c>), later ones winning.
    /// Returns null and every configuration error, each naming its key, when the configuration is unusable;
    /// nothing listens until the returned app runs.
    /// </summary>
    public static WebApplication? Build(string[] args, out IReadOnlyList<string> errors)
    {
        OperationsEndpoint.SuppressNoisyDefaultMetrics();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddPeerAgentSources(args);
        builder.Services.AddAgentOptions(builder.Configuration);
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<MirrorOptions>, IOptions<MetricsOptions>, IOptions<PeerOptions>, IOptions<TlsOptions>, IOptions<DockerMirrorOptions>>(
            (kestrel, mirrorOptions, metricsOptions, peerOptions, tlsOptions, dockerOptions) =>
            {
                kestrel.AddServerHeader = false;
                if (ConfigurationValidation.TryGetValue(mirrorOptions, out var mirror)
                    && ConfigurationValidation.TryGetValue(metricsOptions, out var metrics)
                    && ConfigurationValidation.TryGetValue(peerOptions, out var peer)
                    && ConfigurationValidation.TryGetValue(tlsOptions, out _)
                    && ConfigurationValidation.TryGetValue(dockerOptions, out var docker))
                {
                    // The mirror (loopback, for the runtime) and operations listeners stay plain HTTP; the peer listener,
                    // which also serves an embedded scheduler, is mutual TLS unless Tls:AllowInsecure=true.
                    Listeners.Listen(kestrel, Endpoint(mirror.ListenUrl), MirrorListener, HttpProtocols.Http1);
                    Listeners.Listen(kestrel, Endpoint(metrics.ListenUrl), OperationsListener, HttpProtocols.Http1);
                    Listeners.Listen(kestrel, Endpoint(peer.ListenUrl), PeerListener, HttpProtocols.Http2, kestrel.ApplicationServices.GetRequiredService<TransportSecurity>());
                    // The certificates name the registries' domains: an invalid registry list is reported by the start-up
                    // check (exit 2), never thrown from here.
                    if (docker.Enabled
                        && ConfigurationValidation.TryGetValue(kestrel.ApplicationServices.GetRequiredService<IOptions<List<RegistryOptions>>>(), out _))
                    {
                        // Docker Engine's registry endpoint: HTTPS with the installer's certificate for each domain, picked by SNI.
                        var certificates = kestrel.ApplicationServices.GetRequiredService<DockerCertificates>();
                        Listeners.Listen(
                            kestrel,
                            new ListenEndpoint(IPAddress.Parse(docker.ListenAddress), docker.Port),
                            DockerListener,
                            HttpProtocols.Http1,
                            listen => listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificateSelector = (_, name) => certificates.Select(name) }));
                    }
                }
            });

        builder.Services
            .AddPeerAgentTls()
            .AddPeerAgentStore()
            .AddPeerAgentMirror()
            .AddPeerAgentSwarm();
        var embedded = AgentConfiguration.IsSchedulerEmbedded(builder.Configuration);
        if (embedded)
        {
            // No scheduler configured: run one in-process, served on the peer listener (see SchedulerConnection).
            builder.Services.AddPeerAgentScheduler();
        }

        var app = builder.Build();
        errors = ConfigurationValidation.Validate(app.Services);
        if (errors.Count > 0)
        {
            ((IDisposable)app).Dispose();
            return null;
        }

        // The listeners open only after the store recovered (RunAsync), so answering at all means ready.
        OperationsEndpoint.Map(app, OperationsListener);
        var endpoint = app.Services.GetRequiredService<MirrorEndpoint>();
        app.MapWhen(context => Listeners.Is(context, MirrorListener), branch => branch.Run(endpoint.HandleAsync));
        app.MapWhen(context => Listeners.Is(context, DockerListener), branch => branch.Run(endpoint.HandleByDomainAsync));
        LogDockerEndpoint(app);

        // gRPC endpoints: the mirror and operations branches above end every request of theirs, so only
        // requests on the peer listener get this far.
        app.MapPeerService();
        if (embedded)
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
        AgentMetrics.ObserveDownloads(app.Services.GetRequiredService<BlobDownloader>());
        await app.RunAsync();
    }

    private static void LogDockerEndpoint(WebApplication app)
    {
        var docker = app.Services.GetRequiredService<IOptions<DockerMirrorOptions>>().Value;
        if (docker.Enabled)
        {
            var domains = app.Services.GetRequiredService<DistributionDomainMap>().Registries;
            MirrorLog.DockerEndpointServing(
                app.Services.GetRequiredService<ILogger<DockerCertificates>>(),
                docker.ListenAddress,
                docker.Port,
                string.Join(", ", domains.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key} ({d.Value})")));
        }
    }

    private static ListenEndpoint Endpoint(string url)
    {
        // Validated at start (ConfigurationValidation), so this parses.
        ListenEndpoint.TryParse(url, allowHttps: true, out _, out var endpoint);
        return endpoint;
    }
}
