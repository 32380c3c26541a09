using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace PeerAgent.Hosting;

/// <summary><c>/metrics</c> (Prometheus), <c>/healthz</c> and <c>/readyz</c> on one listener, answered before anything else runs.</summary>
public static class OperationsEndpoint
{
    /// <summary>
    /// Keep process_* and dotnet_* metrics, but not the EventCounter and Meter adapters: they repeat those figures
    /// under names Prometheus' own lint rejects (gauges ending in _count or _total). Call before anything is registered.
    /// </summary>
    public static void SuppressNoisyDefaultMetrics() =>
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true });

    /// <summary>
    /// Every request on <paramref name="listener"/> ends here, so nothing else is served there; health answers "ok"
    /// once the process listens (callers start listening only when they are ready).
    /// </summary>
    public static void Map(WebApplication app, string listener) =>
        app.MapWhen(context => Listeners.Is(context, listener), operations =>
        {
            operations.UseMetricServer("/metrics");
            operations.Run(context =>
            {
                switch (context.Request.Path.Value)
                {
                    case "/healthz":
                    case "/readyz":
                        context.Response.ContentType = "text/plain";
                        return context.Response.WriteAsync("ok\n", context.RequestAborted);
                    default:
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return Task.CompletedTask;
                }
            });
        });
}
