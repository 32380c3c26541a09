using System.Globalization;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// The one owner of blob downloads. The mirror authorises a request and hands "fetch this blob" here; everything
/// after that happens here: coalescing concurrent misses into one download, the partial file, the scheduler
/// session, parents and origin lanes (<see cref="SwarmFill"/>), commit, announcing the blob to the swarm, and
/// distrusting the swarm for a blob it served wrong. Readers follow a download through <see cref="DownloadReader"/>.
/// </summary>
/// <remarks>
/// There is one writer path: whether the pieces come from parents, from the origin by Range, or from the body of
/// a GET that had to be sent because the HEAD gave no length, the blob is registered with <see cref="PeerTasks"/>
/// while it downloads and announced as a seed once committed.
/// </remarks>
internal sealed class BlobDownloader
{
    private const int MaxStartAttempts = 3;

    private readonly DownloadRegistry _registry = new();
    private readonly DistrustedBlobs _distrusted;
    private readonly ContentStore _store;
    private readonly SchedulerConnection _scheduler;
    private readonly IParentClients _parents;
    private readonly RecentSeeds _seeds;
    private readonly PeerTasks _tasks;
    private readonly FillSettings _fillSettings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public BlobDownloader(
        ContentStore store,
        IOptions<UpstreamOptions> upstream,
        IOptions<PeerOptions> peerOptions,
        SchedulerConnection scheduler,
        IParentClients parents,
        RecentSeeds seeds,
        PeerTasks tasks,
        TimeProvider time,
        ILogger<BlobDownloader> logger,
        IHostApplicationLifetime lifetime)
    {
        _store = store;
        _scheduler = scheduler;
        _parents = parents;
        _seeds = seeds;
        _tasks = tasks;
        _time = time;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
        _distrusted = new DistrustedBlobs(time);
        var peer = peerOptions.Value;
        _fillSettings = new FillSettings(
            peer.MaxPiecesInFlight,
            peer.PieceTimeout,
            peer.StallTimeout,
            scheduler.Host.HostId,
            upstream.Value.MaxRetries,
            upstream.Value.BodyIdleTimeout,
            scheduler.Host.Zone,
            scheduler.Host.Region);
    }

    /// <summary>Blobs being downloaded now (including those whose readers are still draining).</summary>
    public int InFlight => _registry.Count;

    /// <summary>
    /// Joins the download of <paramref name="digest"/> or starts it. A start sends a HEAD with the client's own
    /// credentials first: the upstream authorises this request (for pieces from peers too) and tells the length,
    /// without the origin sending a byte of the body.
    /// </summary>
    public async Task<BlobFetch> FetchAsync(UpstreamTarget target, Digest digest, string? authorization, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (_store.Contains(digest))
            {
                return new BlobFetch.Cached();
            }

            var slot = _registry.Claim(digest, out var created);
            if (created)
            {
                // A download that committed and closed between the check above and the claim left the blob behind.
                if (_store.Contains(digest))
                {
                    _registry.Abandon(slot);
                    return new BlobFetch.Cached();
                }

                return await StartAsync(target, digest, authorization, slot, cancellationToken);
            }

            var download = await slot.Started.WaitAsync(cancellationToken);
            if (download?.TryRead() is { } reader)
            {
                return new BlobFetch.Joined(reader);
            }

            // That download is over: its start failed (the other request's credentials, say), it failed, or it
            // finished and let go. Once its slot is gone, try again with this request's credentials.
            await slot.Closed.WaitAsync(cancellationToken);
            if (attempt >= MaxStartAttempts)
            {
                // Joining failed repeatedly: this request streams the upstream body through on its own.
                return new BlobFetch.Upstream(await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken));
            }
        }
    }

    private async Task<BlobFetch> StartAsync(UpstreamTarget target, Digest digest, string? authorization, DownloadSlot slot, CancellationToken cancellationToken)
    {
        ActiveDownload? download = null;
        HttpResponseMessage? body = null;
        try
        {
            long? length;
            using (var head = await target.Registry.SendAsync(
                       new UpstreamRequest(HttpMethod.Head, target.Repository, $"/v2/{target.Repository}/blobs/{digest}") { Authorization = authorization },
                       cancellationToken))
            {
                length = head.StatusCode == HttpStatusCode.OK ? head.Content.Headers.ContentLength : null;
            }

            if (length is null)
            {
                // Refused, or no length: the GET's own answer (with its error body) goes back to the client,
                // and a 200 with a length is stored straight from that body.
                body = await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken);
                if (body.StatusCode != HttpStatusCode.OK || body.Content.Headers.ContentLength is not { } got)
                {
                    return new BlobFetch.Upstream(Take(ref body));
                }

                length = got;
            }

            var opened = _store.TryOpenPartial(digest, length.Value, out var partial);
            if (opened == PartialOpenResult.Busy)
            {
                // The registry lets one download per blob run, so only a writer outside it (none today) could hold
                // the partial: wait for it to let go, then open it once more.
                await _store.WhenPartialClosedAsync(digest, cancellationToken);
                opened = _store.TryOpenPartial(digest, length.Value, out partial);
            }

            switch (opened)
            {
                case PartialOpenResult.Opened:
                    break;
                case PartialOpenResult.Committed:
                    return new BlobFetch.Cached();
                default:
                    if (opened == PartialOpenResult.NoRoom)
                    {
                        MirrorLog.StoreFull(_logger, digest.ToString(), string.Create(CultureInfo.InvariantCulture, $"content store cannot fit {length.Value} bytes within quota {_store.QuotaBytes}"));
                    }

                    // No room, or still busy: this request streams the upstream body through, verified, uncached.
                    return new BlobFetch.Upstream(body is null
                        ? await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken)
                        : Take(ref body));
            }

            download = new ActiveDownload(partial!, _tasks);
            var reader = download.TryRead()!; // before the writer runs, so even a tiny blob cannot finish without this reader
            slot.Start(download);
            var openBody = body;
            body = null; // the writer owns it now
            _ = RunAsync(download, slot, target, authorization, openBody);
            return new BlobFetch.Started(reader);
        }
        finally
        {
            body?.Dispose();
            if (download is null)
            {
                _registry.Abandon(slot);
            }
        }
    }

    /// <summary>The one writer path: fill, verify and commit, then tell the swarm; readers follow through the gate.</summary>
    private async Task RunAsync(ActiveDownload download, DownloadSlot slot, UpstreamTarget target, string? authorization, HttpResponseMessage? body)
    {
        await Task.Yield(); // leave the request's thread before the transfer
        var digest = download.Digest;
        var partial = download.Partial;
        var removal = _registry.RemoveWhenClosedAsync(slot, download);
        SchedulerSession? session = null;
        SwarmFill? fill = null; // read by the session when it moves to another scheduler replica
        Digest[]? pieceDigests = null;
        var usedPeers = false;
        Exception? failure = null;
        try
        {
            using (_tasks.Register(partial)) // its pieces are served to peers while it downloads
            {
                string originReason;
                if (body is not null)
                {
                    originReason = "no_length";
                }
                else if (_distrusted.Contains(digest))
                {
                    originReason = "distrusted";
                }
                else
                {
                    originReason = "no_scheduler";
                    session = await _scheduler.TryOpenAsync(digest, download.Length, () => new DownloadState(PresentBitmap(partial), fill?.ReadingOrigin == true), _stopping);
                }

                fill = new SwarmFill(partial, download, OriginOpener(target, digest, authorization), _parents, _fillSettings, _time, _logger);
                failure = await download.FillAndCommitAsync(token => fill.FillAsync(session, originReason, body, token), _stopping);
                if (failure is null)
                {
                    pieceDigests = PieceDigests(partial);
                }
                else
                {
                    usedPeers = fill.UsedPeers;
                    LogFailure(digest, failure);
                }
            } // unregistered before the partial closes; a committed blob keeps its piece digests in the store
        }
        finally
        {
            download.Release(); // the writer's hold; the last reader's release closes the partial
        }

        try
        {
            if (pieceDigests is not null)
            {
                _seeds.Add(digest, download.Length);
                if (session is not null)
                {
                    await session.FinishAsync(pieceDigests);
                }
                else
                {
                    // Fetched without the scheduler: announce it anyway, so the swarm can use it as a parent.
                    await _scheduler.AnnounceSeedAsync(digest, download.Length, _stopping);
                }
            }
            else
            {
                if (session is not null)
                {
                    await session.FailAsync("the download failed or did not verify");
                }

                if (usedPeers && failure is DigestMismatchException)
                {
                    SwarmLog.SwarmBlobMismatch(_logger, digest.ToString(), DistrustedBlobs.Duration);
                    _distrusted.Add(digest);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException or IOException or HttpRequestException)
        {
            // Shutting down, or the scheduler went away: it is soft state, and the next heartbeat re-announces seeds.
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync();
            }
        }

        await removal;
    }

    private void LogFailure(Digest digest, Exception ex)
    {
        if (ex is DigestMismatchException)
        {
            AgentMetrics.DigestMismatches.WithLabels("blob").Inc();
            MirrorLog.BlobDigestMismatch(_logger, digest.ToString(), ex.Message);
        }
        else
        {
            MirrorLog.BlobTransferFailed(_logger, digest.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    private static Digest[] PieceDigests(PartialBlob committed)
    {
        var digests = new Digest[committed.Layout.PieceCount];
        for (var i = 0; i < digests.Length; i++)
        {
            digests[i] = committed.GetPieceDigest(i);
        }

        return digests;
    }

    private static byte[] PresentBitmap(PartialBlob partial)
    {
        var bitmap = new PieceBitmap(partial.Layout.PieceCount);
        for (var i = 0; i < bitmap.Count; i++)
        {
            if (partial.HasPiece(i))
            {
                bitmap.Set(i);
            }
        }

        return bitmap.ToBytes();
    }

    private static OriginRangeOpener OriginOpener(UpstreamTarget target, Digest digest, string? authorization) =>
        async (first, last, token) =>
        {
            var range = string.Create(CultureInfo.InvariantCulture, $"bytes={first}-{last}");
            var response = await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range), token);
            if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PartialContent)
            {
                return response;
            }

            response.Dispose();
            throw new IOException($"reading {range} got {(int)response.StatusCode} from {target.Registry.Host}");
        };

    private static UpstreamRequest BlobRequest(UpstreamTarget target, Digest digest, string? authorization, string? range) =>
        new(HttpMethod.Get, target.Repository, $"/v2/{target.Repository}/blobs/{digest}") { Authorization = authorization, Range = range };

    /// <summary>Hands a response on: the caller's variable no longer owns it.</summary>
    private static HttpResponseMessage Take(ref HttpResponseMessage? response)
    {
        var taken = response!;
        response = null;
        return taken;
    }
}
