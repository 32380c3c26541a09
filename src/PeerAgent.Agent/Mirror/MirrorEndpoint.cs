using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Upstreams;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// The OCI distribution pull API as a runtime's registry mirror uses it: <c>/v2/</c>, manifests and blobs,
/// GET and HEAD. Picks the upstream, dispatches, maps failures to OCI errors and counts outcomes.
/// </summary>
internal sealed class MirrorEndpoint
{
    private readonly UpstreamRegistries _registries;
    private readonly ManifestHandler _manifests;
    private readonly BlobHandler _blobs;
    private readonly DistributionDomainMap _domains;
    private readonly ILogger _logger;

    public MirrorEndpoint(UpstreamRegistries registries, ManifestHandler manifests, BlobHandler blobs, DistributionDomainMap domains, ILogger<MirrorEndpoint> logger)
    {
        _registries = registries;
        _domains = domains;
        _manifests = manifests;
        _blobs = blobs;
        _logger = logger;
    }

    /// <summary>A request on the mirror listener: the upstream is named by the ns query, the path or Mirror:DefaultRegistry.</summary>
    public Task HandleAsync(HttpContext context) => HandleAsync(context, byDomain: false);

    /// <summary>
    /// A request on the Docker endpoint: the upstream is the registry whose distribution domain the Host names, and
    /// only that; a Host that names none is refused, never sent to the default registry.
    /// </summary>
    public Task HandleByDomainAsync(HttpContext context) => HandleAsync(context, byDomain: true);

    private async Task HandleAsync(HttpContext context, bool byDomain)
    {
        var request = context.Request;
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        if (!MirrorRoute.TryParse(request.Path.Value ?? "", out var route))
        {
            await OciError.WriteAsync(context, HttpStatusCode.NotFound, OciError.Unsupported, "not a registry pull API path");
            return;
        }

        var method = HttpMethods.IsGet(request.Method) ? "GET" : HttpMethods.IsHead(request.Method) ? "HEAD" : null;
        if (method is null)
        {
            context.Response.Headers.Allow = "GET, HEAD";
            await OciError.WriteAsync(context, HttpStatusCode.MethodNotAllowed, OciError.Unsupported, "this mirror only serves pulls (GET and HEAD)");
            Count(route, "OTHER", "bad_request");
            return;
        }

        var ns = request.Query["ns"].FirstOrDefault();
        if (byDomain)
        {
            ns = _domains.RegistryFor(request.Host.Host);
            if (ns is null)
            {
                await OciError.WriteAsync(context, HttpStatusCode.NotFound, OciError.NameUnknown, $"no registry of this agent has the distribution domain '{request.Host.Host}'");
                Count(route, method, "not_found");
                return;
            }
        }

        var outcome = "error";
        var started = Stopwatch.GetTimestamp();
        try
        {
            outcome = await DispatchAsync(context, route, ns);
        }
        catch (UpstreamUnavailableException ex)
        {
            // 502 makes containerd move on to the next host in hosts.toml, usually the origin itself.
            MirrorLog.UpstreamUnavailable(_logger, route.Name, ex.Message);
            outcome = "unavailable";
            await FailAsync(context, HttpStatusCode.BadGateway, OciError.Unavailable, $"upstream {ex.Host} is unavailable");
        }
        catch (Exception ex) when (ex is ClientDisconnectedException || (ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            outcome = "cancelled";
        }
        catch (Exception ex)
        {
            MirrorLog.RequestFailed(_logger, ex, method, route.KindLabel, route.Name);
            await FailAsync(context, HttpStatusCode.InternalServerError, OciError.Unknown, "internal error");
        }
        finally
        {
            Count(route, method, outcome);
            AgentMetrics.MirrorRequestDuration.WithLabels(route.KindLabel, method).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task<string> DispatchAsync(HttpContext context, MirrorRoute route, string? ns)
    {
        if (route.Kind == RouteKind.Base)
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 2;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.WriteAsync("{}", context.RequestAborted);
            }

            return "hit";
        }

        var target = _registries.Resolve(ns, route.Name, out var error);
        if (target is null)
        {
            await OciError.WriteAsync(context, HttpStatusCode.BadRequest, OciError.NameInvalid, error!);
            return "bad_request";
        }

        return route.Kind == RouteKind.Manifest
            ? await _manifests.HandleAsync(context, target, route.Reference)
            : await _blobs.HandleAsync(context, target, route.Reference);
    }

    private static async Task FailAsync(HttpContext context, HttpStatusCode status, string code, string message)
    {
        if (context.Response.HasStarted)
        {
            context.Abort(); // headers are out: only a broken connection tells the client this failed
            return;
        }

        context.Response.Clear();
        await OciError.WriteAsync(context, status, code, message);
    }

    private static void Count(MirrorRoute route, string method, string outcome) =>
        AgentMetrics.MirrorRequests.WithLabels(route.KindLabel, method, outcome).Inc();
}
