using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Auth;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// <c>GET|HEAD /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>: from the store after an access check, else one shared
/// upstream download that streams to every waiting client while it is stored.
/// </summary>
internal sealed class BlobHandler
{
    private readonly ContentStore _store;
    private readonly BlobDownloader _downloads;
    private readonly AccessChecker _access;
    private readonly ILogger _logger;

    public BlobHandler(ContentStore store, BlobDownloader downloads, AccessChecker access, ILogger<BlobHandler> logger)
    {
        _store = store;
        _downloads = downloads;
        _access = access;
        _logger = logger;
    }

    /// <summary>Answers the request and returns the outcome label for the request counter.</summary>
    public async Task<string> HandleAsync(HttpContext context, UpstreamTarget target, string reference)
    {
        if (!Digest.TryParse(reference, out var digest))
        {
            await OciError.WriteAsync(context, HttpStatusCode.BadRequest, OciError.DigestInvalid, $"invalid digest '{reference}'");
            return "bad_request";
        }

        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var authorization = ClientCredentials.From(request);
        // RFC 9110 §14.2: Range applies to GET only; a HEAD gets the whole blob's headers.
        var range = request.Headers.Range.Count > 0 && HttpMethods.IsGet(request.Method) ? request.Headers.Range.ToString() : null;

        if (_store.TryOpenRead(digest, out var cached))
        {
            AgentMetrics.CacheLookups.WithLabels("blob", "hit").Inc();
            using (cached)
            {
                return await ServeCachedAsync(context, target, cached, authorization, range);
            }
        }

        AgentMetrics.CacheLookups.WithLabels("blob", "miss").Inc();
        if (HttpMethods.IsHead(request.Method))
        {
            using var head = await target.Registry.SendAsync(
                new UpstreamRequest(HttpMethod.Head, target.Repository, $"/v2/{target.Repository}/blobs/{digest}") { Authorization = authorization },
                cancellationToken);
            await UpstreamResponses.PassBackAsync(context, head, cancellationToken);
            return head.IsSuccessStatusCode ? "proxied" : Refusals.Outcome(head.StatusCode);
        }

        var fetch = await _downloads.FetchAsync(target, digest, authorization, cancellationToken);
        switch (fetch)
        {
            case BlobFetch.Cached:
                if (_store.TryOpenRead(digest, out cached))
                {
                    using (cached)
                    {
                        return await ServeCachedAsync(context, target, cached, authorization, range);
                    }
                }

                await OciError.WriteAsync(context, HttpStatusCode.ServiceUnavailable, OciError.Unavailable, "blob was evicted while being requested; retry");
                return "unavailable";

            case BlobFetch.Joined joined:
                using (joined.Reader)
                {
                    var decision = await _access.CheckAsync(target, "blob", digest, authorization, cancellationToken);
                    if (decision.Result != AccessResult.Allowed)
                    {
                        return await Refusals.WriteAsync(context, decision, OciError.BlobUnknown);
                    }

                    await ServeDownloadAsync(context, joined.Reader, range);
                    return "coalesced";
                }

            case BlobFetch.Started started:
                using (started.Reader)
                {
                    await ServeDownloadAsync(context, started.Reader, range);
                    return "miss";
                }

            case BlobFetch.Upstream { Response: var response }:
                using (response)
                {
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        // The store could not take it. A range of it could not be verified on its own, so any Range
                        // is ignored (as HTTP allows) and the whole blob streams through, verified.
                        await UpstreamResponses.StreamVerifiedAsync(context, response, digest, _logger, cancellationToken);
                        return "proxied";
                    }

                    await UpstreamResponses.PassBackAsync(context, response, cancellationToken);
                    return Refusals.Outcome(response.StatusCode);
                }

            default:
                throw new InvalidOperationException($"unexpected fetch result {fetch}");
        }
    }

    private async Task<string> ServeCachedAsync(HttpContext context, UpstreamTarget target, BlobReader blob, string? authorization, string? range)
    {
        var decision = await _access.CheckAsync(target, "blob", blob.Digest, authorization, context.RequestAborted);
        if (decision.Result != AccessResult.Allowed)
        {
            return await Refusals.WriteAsync(context, decision, OciError.BlobUnknown);
        }

        if (await SelectRangeAsync(context, blob.Digest, blob.Length, range) is not { } selected)
        {
            return "bad_request";
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return "hit";
        }

        await BlobBody.CopyAsync(blob.ReadAsync, context.Response.BodyWriter, selected.First, selected.Last, CountCached, context.RequestAborted);
        return "hit";
    }

    private async Task ServeDownloadAsync(HttpContext context, DownloadReader download, string? range)
    {
        if (range is not null)
        {
            // A range that does not reach the end would complete before the digest is known; wait for the commit.
            try
            {
                await download.Finished.WaitAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is BlobTransferException or DigestMismatchException or IOException or HttpRequestException or UpstreamUnavailableException)
            {
                await OciError.WriteAsync(context, HttpStatusCode.BadGateway, OciError.Unavailable, "the upstream transfer of this blob failed");
                return;
            }

            if (_store.TryOpenRead(download.Digest, out var committed))
            {
                using (committed)
                {
                    if (await SelectRangeAsync(context, committed.Digest, committed.Length, range) is { } selected)
                    {
                        await download.CopyToAsync(context.Response.BodyWriter, selected.First, selected.Last, CountUpstream, context.RequestAborted);
                    }
                }

                return;
            }
        }

        await SelectRangeAsync(context, download.Digest, download.Length, range: null);
        try
        {
            await download.CopyToAsync(context.Response.BodyWriter, 0, download.Length - 1, CountUpstream, context.RequestAborted);
            await download.Finished.WaitAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is BlobTransferException or DigestMismatchException or IOException or HttpRequestException)
        {
            // Never end the response normally: the client must see a broken transfer, not a short or wrong blob.
            context.Abort();
        }

        static void CountUpstream(long bytes) => AgentMetrics.ServedBlobBytesFromUpstream.Inc(bytes);
    }

    private static void CountCached(long bytes) => AgentMetrics.ServedBlobBytesFromCache.Inc(bytes);

    /// <summary>Sets the status and headers for the whole blob or one range; null after writing a 400 or 416.</summary>
    private static async Task<ByteRange?> SelectRangeAsync(HttpContext context, Digest digest, long length, string? range)
    {
        var response = context.Response;
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.ETag = $"\"{digest}\"";
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        var selected = default(ByteRange);
        var parsed = range is null ? ByteRange.ParseResult.Ignored : ByteRange.TryParse(range, length, out selected);
        if (parsed == ByteRange.ParseResult.Ignored)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentLength = length;
            return new ByteRange(0, length - 1);
        }

        switch (parsed)
        {
            case ByteRange.ParseResult.Valid:
                response.StatusCode = StatusCodes.Status206PartialContent;
                response.ContentLength = selected.Length;
                response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {selected.First}-{selected.Last}/{length}");
                return selected;
            case ByteRange.ParseResult.Unsatisfiable:
                response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{length}");
                await OciError.WriteAsync(context, HttpStatusCode.RequestedRangeNotSatisfiable, OciError.RangeInvalid, $"range '{range}' is outside the blob's {length} bytes");
                return null;
            default:
                await OciError.WriteAsync(context, HttpStatusCode.BadRequest, OciError.RangeInvalid, $"invalid Range header '{range}'; expected one range such as bytes=0-1023");
                return null;
        }
    }
}
