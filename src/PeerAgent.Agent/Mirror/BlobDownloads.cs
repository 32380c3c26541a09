using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Mirror;

/// <summary>What a request for an uncached blob should do next.</summary>
internal abstract record BlobFetch
{
    /// <summary>The blob was committed meanwhile: serve it from the store.</summary>
    public sealed record Cached : BlobFetch;

    /// <summary>This request started the download; the upstream's 200 already authorised it. Dispose the lease.</summary>
    public sealed record Started(Lease Lease) : BlobFetch;

    /// <summary>Another request's download is under way; this request must pass the access check before reading. Dispose the lease.</summary>
    public sealed record Joined(Lease Lease) : BlobFetch;

    /// <summary>
    /// Hand this upstream response to the client: an error or 401 to pass back, or a 200 that cannot be
    /// stored (no length, or no room) and must be streamed through with its digest checked.
    /// </summary>
    public sealed record Upstream(HttpResponseMessage Response) : BlobFetch;
}

/// <summary>
/// Coalesces concurrent misses of one blob into one upstream transfer: the first request starts it, later
/// ones wait for its headers and then read from the same download.
/// </summary>
internal sealed class BlobDownloads
{
    private const int MaxStartAttempts = 3;

    private readonly Dictionary<Digest, TaskCompletionSource<BlobDownload?>> _inFlight = [];
    private readonly ContentStore _store;
    private readonly UpstreamOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public BlobDownloads(ContentStore store, IOptions<UpstreamOptions> options, ILogger<BlobDownloads> logger, IHostApplicationLifetime lifetime)
    {
        _store = store;
        _options = options.Value;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
    }

    public async Task<BlobFetch> FetchAsync(UpstreamTarget target, Digest digest, string? authorization, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            TaskCompletionSource<BlobDownload?>? mine = null;
            Task<BlobDownload?>? theirs = null;
            lock (_inFlight)
            {
                if (_store.Contains(digest))
                {
                    return new BlobFetch.Cached();
                }

                if (_inFlight.TryGetValue(digest, out var pending))
                {
                    theirs = pending.Task;
                }
                else
                {
                    mine = new TaskCompletionSource<BlobDownload?>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _inFlight[digest] = mine;
                }
            }

            if (theirs is not null)
            {
                var download = await theirs.WaitAsync(cancellationToken);
                if (download?.TryLease() is { } lease)
                {
                    return new BlobFetch.Joined(lease);
                }

                if (attempt < MaxStartAttempts)
                {
                    continue; // the other start failed (its credentials, say); try with ours
                }
            }

            return await StartAsync(target, digest, authorization, mine, cancellationToken);
        }
    }

    private async Task<BlobFetch> StartAsync(
        UpstreamTarget target,
        Digest digest,
        string? authorization,
        TaskCompletionSource<BlobDownload?>? slot,
        CancellationToken cancellationToken)
    {
        BlobDownload? download = null;
        try
        {
            var request = BlobRequest(target, digest, authorization, range: null);
            var response = await target.Registry.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentLength is not { } length || slot is null)
            {
                return new BlobFetch.Upstream(response);
            }

            PartialBlob partial;
            try
            {
                partial = _store.OpenPartial(digest, length);
            }
            catch (StoreFullException ex)
            {
                MirrorLog.StoreFull(_logger, digest.ToString(), ex.Message);
                return new BlobFetch.Upstream(response);
            }
            catch (InvalidOperationException) when (_store.Contains(digest))
            {
                response.Dispose();
                return new BlobFetch.Cached();
            }

            download = new BlobDownload(digest, length, partial);
            var lease = download.TryLease()!; // before the writer runs, so even a tiny blob cannot finish without us
            _ = RunAsync(download, response, target, authorization, slot);
            return new BlobFetch.Started(lease);
        }
        finally
        {
            if (slot is not null)
            {
                slot.TrySetResult(download);
                if (download is null)
                {
                    Forget(digest, slot);
                }
            }
        }
    }

    private async Task RunAsync(BlobDownload download, HttpResponseMessage response, UpstreamTarget target, string? authorization, TaskCompletionSource<BlobDownload?> slot)
    {
        try
        {
            await Task.Yield(); // leave the request's thread before the transfer loop
            await download.RunAsync(
                response,
                (offset, token) => ResumeAsync(target, download.Digest, authorization, offset, token),
                _options.MaxRetries,
                _options.BodyIdleTimeout,
                _logger,
                _stopping);
        }
        finally
        {
            Forget(download.Digest, slot);
        }
    }

    private static async Task<HttpResponseMessage> ResumeAsync(UpstreamTarget target, Digest digest, string? authorization, long offset, CancellationToken cancellationToken)
    {
        var response = await target.Registry.SendAsync(BlobRequest(target, digest, authorization, $"bytes={offset}-"), cancellationToken);
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PartialContent)
        {
            return response;
        }

        response.Dispose();
        throw new IOException($"resuming at {offset} got {(int)response.StatusCode} from {target.Registry.Host}");
    }

    private static UpstreamRequest BlobRequest(UpstreamTarget target, Digest digest, string? authorization, string? range) =>
        new(HttpMethod.Get, target.Repository, $"/v2/{target.Repository}/blobs/{digest}") { Authorization = authorization, Range = range };

    private void Forget(Digest digest, TaskCompletionSource<BlobDownload?> slot)
    {
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(digest, out var current) && current == slot)
            {
                _inFlight.Remove(digest);
            }
        }
    }
}
