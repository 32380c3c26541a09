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
/// Coalesces concurrent misses of one blob into one transfer: the first request starts it, later ones wait for
/// it to start and then read from the same download. The transfer is a swarm download (<see cref="SwarmDownload"/>):
/// a HEAD with the client's credentials authorises it and gives the length, then the scheduler decides whether
/// the pieces come from peers or from the origin.
/// </summary>
internal sealed class BlobDownloads
{
    private const int MaxStartAttempts = 3;
    private const int MaxDistrusted = 1024;

    /// <summary>After a blob assembled from peers failed its digest, peers are skipped for it this long.</summary>
    internal static readonly TimeSpan DistrustDuration = TimeSpan.FromMinutes(10);

    private readonly Dictionary<Digest, TaskCompletionSource<BlobDownload?>> _inFlight = [];
    private readonly Dictionary<Digest, long> _distrusted = [];
    private readonly ContentStore _store;
    private readonly UpstreamOptions _options;
    private readonly SchedulerConnection _scheduler;
    private readonly PeerClients _peers;
    private readonly RecentSeeds _seeds;
    private readonly PeerTasks _tasks;
    private readonly PeerOptions _peerOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public BlobDownloads(
        ContentStore store,
        IOptions<UpstreamOptions> options,
        SchedulerConnection scheduler,
        PeerClients peers,
        RecentSeeds seeds,
        PeerTasks tasks,
        PeerOptions peerOptions,
        TimeProvider time,
        ILogger<BlobDownloads> logger,
        IHostApplicationLifetime lifetime)
    {
        _store = store;
        _options = options.Value;
        _scheduler = scheduler;
        _peers = peers;
        _seeds = seeds;
        _tasks = tasks;
        _peerOptions = peerOptions;
        _time = time;
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

                // That download is over (failed, or finished and let go) even if its writer has not forgotten it
                // yet: forget it now, so the next attempt starts a fresh download instead of finding it again.
                lock (_inFlight)
                {
                    if (_inFlight.TryGetValue(digest, out var current) && current.Task == theirs)
                    {
                        _inFlight.Remove(digest);
                    }
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
            if (slot is null)
            {
                // Joining failed repeatedly: this request streams the upstream body through on its own.
                return new BlobFetch.Upstream(await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken));
            }

            // HEAD with the client's own credentials: the upstream authorises this request (for pieces from
            // peers too) and tells the length, without the origin sending a byte of the body.
            long? length;
            using (var head = await target.Registry.SendAsync(
                       new UpstreamRequest(HttpMethod.Head, target.Repository, $"/v2/{target.Repository}/blobs/{digest}") { Authorization = authorization },
                       cancellationToken))
            {
                length = head.StatusCode == HttpStatusCode.OK ? head.Content.Headers.ContentLength : null;
            }

            HttpResponseMessage? response = null;
            if (length is null)
            {
                // Refused, or no length: the GET's own answer (with its error body) goes back to the client,
                // and a 200 with a length is stored straight from that body.
                response = await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken);
                if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentLength is not { } got)
                {
                    return new BlobFetch.Upstream(response);
                }

                length = got;
            }

            PartialBlob partial;
            switch (_store.TryOpenPartial(digest, length.Value, out var opened))
            {
                case PartialOpenResult.Opened:
                    partial = opened!;
                    break;
                case PartialOpenResult.Committed:
                    response?.Dispose();
                    return new BlobFetch.Cached();
                case PartialOpenResult.NoRoom:
                    MirrorLog.StoreFull(_logger, digest.ToString(), string.Create(CultureInfo.InvariantCulture, $"content store cannot fit {length.Value} bytes within quota {_store.QuotaBytes}"));
                    return new BlobFetch.Upstream(response ?? await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken));
                default:
                    // Busy: another writer still holds the partial; stream this one through (see WhenPartialClosedAsync).
                    return new BlobFetch.Upstream(response ?? await target.Registry.SendAsync(BlobRequest(target, digest, authorization, range: null), cancellationToken));
            }

            download = new BlobDownload(digest, length.Value, partial);
            var lease = download.TryLease()!; // before the writer runs, so even a tiny blob cannot finish without us
            _ = response is null
                ? RunSwarmAsync(download, partial, target, authorization, slot)
                : RunFromResponseAsync(download, partial, response, target, authorization, slot);
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

    /// <summary>The swarm path: ask the scheduler, then fill from peers and/or the origin; report the outcome.</summary>
    private async Task RunSwarmAsync(BlobDownload download, PartialBlob partial, UpstreamTarget target, string? authorization, TaskCompletionSource<BlobDownload?> slot)
    {
        AnnounceSession? session = null;
        try
        {
            await Task.Yield(); // leave the request's thread before the transfer
            var registration = _tasks.Register(partial);
            var reason = "no_scheduler";
            if (IsDistrusted(download.Digest))
            {
                reason = "distrusted";
            }
            else
            {
                session = await _scheduler.TryOpenAsync(download.Digest, download.Length, PresentBitmap(partial), _stopping);
            }

            var swarm = new SwarmDownload(
                download, partial, OriginOpener(target, download.Digest, authorization), _peers, _tasks, _peerOptions,
                _scheduler.Host.HostId, _options.MaxRetries, _options.BodyIdleTimeout, _time, _logger);
            Digest[]? pieceDigests = null;
            await download.RunAsync((_, token) => swarm.FillAsync(session, reason, token), _logger, _stopping, written =>
            {
                if (written.IsCommitted)
                {
                    pieceDigests = new Digest[written.Layout.PieceCount];
                    for (var i = 0; i < pieceDigests.Length; i++)
                    {
                        pieceDigests[i] = written.GetPieceDigest(i);
                    }
                }

                registration.Dispose(); // before the partial closes; keeps the piece digests of a committed blob
            });

            if (pieceDigests is not null)
            {
                _seeds.Add(download.Digest, download.Length);
            }

            if (session is not null)
            {
                await (pieceDigests is not null ? session.FinishAsync(pieceDigests) : session.FailAsync("the download failed or did not verify"));
            }

            if (pieceDigests is null && swarm.UsedPeers && download.Finished.Exception?.InnerException is DigestMismatchException)
            {
                Distrust(download.Digest);
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync();
            }

            Forget(download.Digest, slot);
        }
    }

    /// <summary>The upstream's GET already answered (its HEAD did not): store that body as it comes.</summary>
    private async Task RunFromResponseAsync(BlobDownload download, PartialBlob partial, HttpResponseMessage response, UpstreamTarget target, string? authorization, TaskCompletionSource<BlobDownload?> slot)
    {
        try
        {
            await Task.Yield();
            var origin = new OriginFetch(
                download, partial, new PieceClaims(partial.Layout.PieceCount), OriginOpener(target, download.Digest, authorization),
                (_, _) => download.PieceStored(), new AsyncPulse(), _options.MaxRetries, _options.BodyIdleTimeout, _time, _logger);
            await download.RunAsync((_, token) => origin.RunAsync(0, partial.Layout.PieceCount, response, token), _logger, _stopping);
        }
        finally
        {
            Forget(download.Digest, slot);
        }
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

    private bool IsDistrusted(Digest digest)
    {
        lock (_distrusted)
        {
            if (_distrusted.TryGetValue(digest, out var since) && _time.GetElapsedTime(since) < DistrustDuration)
            {
                return true;
            }

            _distrusted.Remove(digest);
            return false;
        }
    }

    private void Distrust(Digest digest)
    {
        SwarmLog.SwarmBlobMismatch(_logger, digest.ToString(), DistrustDuration);
        lock (_distrusted)
        {
            if (_distrusted.Count >= MaxDistrusted)
            {
                _distrusted.Clear();
            }

            _distrusted[digest] = _time.GetTimestamp();
        }
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
