using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Hosting;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Builds the scheduler process: configuration, the gRPC (mutual TLS) and operations listeners, and the service.</summary>
internal static class SchedulerApp
{
    private const string GrpcListener = "grpc";
    private const string OperationsListener = "operations";

    /// <summary>
    /// Configuration comes from appsettings.json beside the binary (optional), then <c>PEERAGENT_</c> environment
    /// variables (<c>PEERAGENT_Scheduler__FanOutLimit</c>), then the command line (<c>--Scheduler:FanOutLimit=…</c>),
    /// later ones winning. Returns null and every configuration error, each naming its key, when it is unusable.
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
        builder.Configuration.AddEnvironmentVariables("PEERAGENT_");
        builder.Configuration.AddCommandLine(args);

        var host = SchedulerHostOptions.Bind(builder.Configuration);
        var found = new List<string>(host.Validate(out var grpcEndpoint, out var operationsEndpoint));
        var options = SchedulerConfiguration.Bind(builder.Configuration, out var optionErrors);
        found.AddRange(optionErrors);

        // --- Tls: mutual TLS on the gRPC listener ---
        var tls = TlsOptions.Bind(builder.Configuration, found);
        found.AddRange(tls.Validate(TimeProvider.System.GetUtcNow()));
        found.AddRange(tls.CheckSchemes((SchedulerHostOptions.ListenUrlKey, host.ListenUrl)));
        // --- end Tls ---
        errors = found;
        if (found.Count > 0)
        {
            return null;
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // HTTP/2 only: h2 over mutual TLS, or prior-knowledge h2c when Tls:AllowInsecure=true.
            Listeners.Listen(kestrel, grpcEndpoint, GrpcListener, HttpProtocols.Http2, kestrel.ApplicationServices.GetRequiredService<TransportSecurity>());
            Listeners.Listen(kestrel, operationsEndpoint, OperationsListener, HttpProtocols.Http1);
        });
        builder.Services.AddPeerAgentTls(tls);
        builder.Services.AddPeerAgentScheduler(options);

        var app = builder.Build();

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
}
