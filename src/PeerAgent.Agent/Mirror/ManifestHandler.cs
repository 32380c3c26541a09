using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Auth;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// <c>GET|HEAD /v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>. Tags are always resolved upstream, so a tag is
/// never stale; a manifest by digest may come from the cache once the upstream accepted the credentials.
/// </summary>
internal sealed class ManifestHandler
{
    private readonly ManifestCache _cache;
    private readonly AccessChecker _access;
    private readonly int _maxManifestBytes;
    private readonly ILogger _logger;

    public ManifestHandler(ManifestCache cache, AccessChecker access, IOptions<MirrorOptions> options, ILogger<ManifestHandler> logger)
    {
        _cache = cache;
        _access = access;
        _maxManifestBytes = options.Value.MaxManifestBytes;
        _logger = logger;
    }

    public async Task<string> HandleAsync(HttpContext context, UpstreamTarget target, string reference)
    {
        var cancellationToken = context.RequestAborted;
        Digest? digest = null;
        if (reference.Contains(':', StringComparison.Ordinal))
        {
            if (!Digest.TryParse(reference, out var parsed))
            {
                await OciError.WriteAsync(context, HttpStatusCode.BadRequest, OciError.DigestInvalid, $"invalid digest '{reference}'");
                return "bad_request";
            }

            digest = parsed;
        }
        else if (!OciNames.IsValidTag(reference))
        {
            await OciError.WriteAsync(context, HttpStatusCode.BadRequest, OciError.ManifestInvalid, $"invalid tag '{reference}'");
            return "bad_request";
        }

        var authorization = ClientCredentials.From(context.Request);
        if (digest is { } wanted)
        {
            var cached = await _cache.TryGetAsync(wanted, cancellationToken);
            AgentMetrics.CacheLookups.WithLabels("manifest", cached is null ? "miss" : "hit").Inc();
            if (cached is not null)
            {
                var decision = await _access.CheckAsync(target, "manifest", wanted, authorization, cancellationToken);
                if (decision.Result != AccessResult.Allowed)
                {
                    return await Refusals.WriteAsync(context, decision, OciError.ManifestUnknown);
                }

                await WriteManifestAsync(context, wanted, cached.MediaType, cached.Content, "cache");
                return "hit";
            }
        }

        var isHead = HttpMethods.IsHead(context.Request.Method);
        var accept = context.Request.Headers.Accept.Count > 0
            ? context.Request.Headers.Accept.Where(a => a is not null).Select(a => a!).ToArray()
            : ManifestMediaTypes.All;
        var request = new UpstreamRequest(isHead ? HttpMethod.Head : HttpMethod.Get, target.Repository, $"/v2/{target.Repository}/manifests/{reference}")
        {
            Authorization = authorization,
            Accept = accept,
        };
        using var response = await target.Registry.SendAsync(request, cancellationToken);
        if (isHead || response.StatusCode != HttpStatusCode.OK)
        {
            await UpstreamResponses.PassBackAsync(context, response, cancellationToken);
            return response.IsSuccessStatusCode ? "proxied" : Refusals.Outcome(response.StatusCode);
        }

        byte[] content;
        try
        {
            content = await UpstreamResponses.ReadBoundedAsync(response, _maxManifestBytes, cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            await OciError.WriteAsync(context, HttpStatusCode.BadGateway, OciError.ManifestInvalid, ex.Message);
            return "error";
        }

        AgentMetrics.UpstreamReceivedBytes.WithLabels("manifest").Inc(content.Length);
        var actual = Digest.Compute(content, digest?.Algorithm ?? "sha256");
        var claimed = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        if ((digest is { } expected && actual != expected)
            || (digest is null && Digest.TryParse(claimed, out var claimedDigest) && claimedDigest.Algorithm == actual.Algorithm && claimedDigest != actual))
        {
            AgentMetrics.DigestMismatches.WithLabels("manifest").Inc();
            MirrorLog.ManifestDigestMismatch(_logger, target.Repository, reference, actual.ToString());
            await OciError.WriteAsync(context, HttpStatusCode.BadGateway, OciError.ManifestInvalid, "upstream manifest does not match its digest");
            return "error";
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "application/vnd.oci.image.manifest.v1+json";
        _access.RecordAllowed(target, "manifest", actual, authorization);
        try
        {
            await _cache.PutAsync(actual, mediaType, content, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Core.Storage.StoreFullException)
        {
            MirrorLog.ManifestCacheFailed(_logger, actual.ToString(), ex.Message);
        }

        await WriteManifestAsync(context, actual, mediaType, content, "upstream");
        return digest is null ? "proxied" : "miss";
    }

    private static async Task WriteManifestAsync(HttpContext context, Digest digest, string mediaType, byte[] content, string source)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = mediaType;
        response.ContentLength = content.Length;
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.ETag = $"\"{digest}\"";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(content, context.RequestAborted);
            AgentMetrics.MirrorServedBytes.WithLabels("manifest", source).Inc(content.Length);
        }
    }
}
