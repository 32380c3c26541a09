using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PeerAgent.Core.Hosting;
using PeerAgent.Hosting;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Hosting.Tls;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Scheduling.Hosting;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Builds the scheduler process: configuration, the gRPC (h2c) and operations listeners, and the service.</summary>
internal static class SchedulerApp
{
    private const string GrpcListener = "grpc";
    private const string OperationsListener = "operations";

    /// <summary>
    /// Configuration comes from appsettings.json beside the binary (optional), then <c>PEERAGENT_</c> environment
    /// variables (<c>PEERAGENT_Scheduler__FanOutLimit</c>), then the command line (<c>--Scheduler:FanOutLimit=…</c>),
    /// later ones winning. Returns null and every configuration error, each naming its key, when it is unusable;
    /// nothing listens until the returned app runs.
    /// </summary>
    public static WebApplication? Build(string[] args, out IReadOnlyList<string> errors)
    {
        OperationsEndpoint.SuppressNoisyDefaultMetrics();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

        // No appsettings.json ships with the scheduler (an agent that embeds it has its own, and two would collide
        // in the agent's output), so quiet ASP.NET Core's per-request logs here; any source added later wins.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            },
        });
        builder.Configuration.AddPeerAgentSources(args);

        // Every section the scheduler process owns (and Kubernetes, below); ListenUrl and the scheduling keys share "Scheduler".
        builder.Services
            .AddSectionOptions(builder.Configuration, SchedulerHostOptions.Section, new SchedulerHostOptionsValidator())
            .AddPeerAgentSchedulerOptions(builder.Configuration, SchedulerOptions.Section)
            .AddSectionOptions(builder.Configuration, SchedulerMetricsOptions.Section, new SchedulerMetricsOptionsValidator())
            .AddTlsOptions(builder.Configuration, ($"{SchedulerHostOptions.Section}:{nameof(SchedulerHostOptions.ListenUrl)}", new SchedulerHostOptions().ListenUrl));

        // HTTP/2 only: h2 over mutual TLS, or prior-knowledge h2c when Tls:AllowInsecure=true.
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<SchedulerHostOptions>, IOptions<SchedulerMetricsOptions>, IOptions<TlsOptions>>(
            (kestrel, hostOptions, metricsOptions, tlsOptions) =>
            {
                kestrel.AddServerHeader = false;
                if (ConfigurationValidation.TryGetValue(hostOptions, out var host)
                    && ConfigurationValidation.TryGetValue(metricsOptions, out var metrics)
                    && ConfigurationValidation.TryGetValue(tlsOptions, out _))
                {
                    Listeners.Listen(kestrel, Endpoint(host.ListenUrl), GrpcListener, HttpProtocols.Http2, kestrel.ApplicationServices.GetRequiredService<TransportSecurity>());
                    Listeners.Listen(kestrel, Endpoint(metrics.ListenUrl), OperationsListener, HttpProtocols.Http1);
                }
            });
        builder.Services.AddPeerAgentTls();
        builder.Services.AddKubernetesTopology(builder.Configuration);
        builder.Services.AddPeerAgentScheduler();

        var app = builder.Build();
        var found = new List<string>(ConfigurationValidation.Validate(app.Services));
        if (found.Count == 0)
        {
            found.AddRange(CheckPorts(
                app.Services.GetRequiredService<IOptions<SchedulerHostOptions>>().Value,
                app.Services.GetRequiredService<IOptions<SchedulerMetricsOptions>>().Value));
        }

        errors = found;
        if (found.Count > 0)
        {
            ((IDisposable)app).Dispose();
            return null;
        }

        // The operations listener answers every request itself, so gRPC is never served there; the gRPC listener
        // has only the gRPC endpoints, so /metrics is a 404 there. All state is soft: a listening scheduler is ready.
        OperationsEndpoint.Map(app, OperationsListener);
        app.MapPeerAgentScheduler();
        return app;
    }

    /// <summary>Runs until stopped.</summary>
    public static Task RunAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.RunAsync();
    }

    /// <summary>The two listeners need ports of their own; checked once each URL is valid on its own.</summary>
    private static IEnumerable<string> CheckPorts(SchedulerHostOptions host, SchedulerMetricsOptions metrics)
    {
        var (grpc, operations) = (Endpoint(host.ListenUrl), Endpoint(metrics.ListenUrl));
        if (grpc.Port != 0 && grpc.Port == operations.Port
            && (grpc.Address is null || operations.Address is null || grpc.Address.Equals(operations.Address)))
        {
            yield return $"{SchedulerMetricsOptions.Section}:ListenUrl '{metrics.ListenUrl}' uses the same port as "
                + $"{SchedulerHostOptions.Section}:ListenUrl '{host.ListenUrl}'; gRPC and metrics need separate ports.";
        }
    }

    private static ListenEndpoint Endpoint(string url)
    {
        // Validated at start (ConfigurationValidation), so this parses.
        ListenEndpoint.TryParse(url, allowHttps: true, out _, out var endpoint);
        return endpoint;
    }
}
