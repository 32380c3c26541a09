using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;
using Prometheus;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Builds the scheduler process: configuration, the gRPC (h2c) and operations listeners, and the service.</summary>
internal static class SchedulerApp
{
    /// <summary>
    /// Configuration comes from appsettings.json beside the binary (optional), then <c>PEERAGENT_</c> environment
    /// variables (<c>PEERAGENT_Scheduler__FanOutLimit</c>), then the command line (<c>--Scheduler:FanOutLimit=…</c>),
    /// later ones winning. Returns null and every configuration error, each naming its key, when it is unusable.
    /// </summary>
    public static WebApplication? Build(string[] args, out IReadOnlyList<string> errors)
    {
        // Keep process_* and dotnet_* metrics, but not the EventCounter and Meter adapters: they repeat those
        // figures under names Prometheus' own lint rejects (gauges ending in _count or _total).
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true });
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
        builder.Configuration.AddEnvironmentVariables("PEERAGENT_");
        builder.Configuration.AddCommandLine(args);

        var host = SchedulerHostOptions.Bind(builder.Configuration);
        var found = new List<string>(host.Validate(out var grpcEndpoint, out var operationsEndpoint));
        var options = SchedulerConfiguration.Bind(builder.Configuration, out var optionErrors);
        found.AddRange(optionErrors);
        errors = found;
        if (found.Count > 0)
        {
            return null;
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // h2c: agents speak HTTP/2 with prior knowledge; there is no TLS here to negotiate it.
            SchedulerListeners.Listen(kestrel, grpcEndpoint, SchedulerListeners.Grpc, HttpProtocols.Http2);
            SchedulerListeners.Listen(kestrel, operationsEndpoint, SchedulerListeners.Operations, HttpProtocols.Http1);
        });
        builder.Services.AddPeerAgentScheduler(options);

        var app = builder.Build();
        MapOperations(app);
        app.MapPeerAgentScheduler();
        return app;
    }

    /// <summary>Runs until stopped.</summary>
    public static Task RunAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.RunAsync();
    }

    /// <summary>
    /// The operations listener answers every request itself, so gRPC is never served there; the gRPC listener has
    /// only the gRPC endpoints, so <c>/metrics</c> is a 404 there.
    /// </summary>
    private static void MapOperations(WebApplication app) =>
        app.MapWhen(context => SchedulerListeners.Is(context, SchedulerListeners.Operations), operations =>
        {
            operations.UseMetricServer("/metrics");
            operations.Run(context =>
            {
                switch (context.Request.Path.Value)
                {
                    case "/healthz":
                    case "/readyz":
                        // All state is soft and rebuilt from agents, so a listening scheduler is ready.
                        context.Response.ContentType = "text/plain";
                        return context.Response.WriteAsync("ok\n", context.RequestAborted);
                    default:
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return Task.CompletedTask;
                }
            });
        });
}
