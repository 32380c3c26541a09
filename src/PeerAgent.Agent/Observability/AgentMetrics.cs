using PeerAgent.Agent.Downloads;
using PeerAgent.Core.Storage;
using Prometheus;

namespace PeerAgent.Agent.Observability;

/// <summary>The agent's Prometheus metrics. Labels stay low-cardinality: never a digest, URL, repository or peer.</summary>
internal static class AgentMetrics
{
    /// <summary>kind: base|manifest|blob; method: GET|HEAD; outcome: hit|miss|coalesced|proxied|not_found|unauthorized|bad_request|unavailable|error.</summary>
    public static readonly Counter MirrorRequests = Metrics.CreateCounter(
        "peeragent_mirror_requests_total", "Mirror requests by kind, method and outcome.", "kind", "method", "outcome");

    /// <summary>kind: base|manifest|blob; method: GET|HEAD. Until the response body is sent (a blob GET: its last byte).</summary>
    public static readonly Histogram MirrorRequestDuration = Metrics.CreateHistogram(
        "peeragent_mirror_request_duration_seconds",
        "Time to answer a mirror request, body included, by kind and method.",
        new HistogramConfiguration
        {
            LabelNames = ["kind", "method"],
            Buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
        });

    public static readonly Gauge DownloadsInFlight = Metrics.CreateGauge(
        "peeragent_downloads_in_flight", "Blob downloads under way, counted until their last reader lets go.");

    /// <summary>source: upstream (a miss streamed while it downloads) or cache.</summary>
    public static readonly Counter MirrorServedBytes = Metrics.CreateCounter(
        "peeragent_mirror_served_bytes_total", "Body bytes sent to mirror clients, by kind and source.", "kind", "source");

    public static readonly Counter CacheLookups = Metrics.CreateCounter(
        "peeragent_mirror_cache_lookups_total", "Content lookups by digest in the local store (hit ratio = hit / all).", "kind", "result");

    public static readonly Counter AuthChecks = Metrics.CreateCounter(
        "peeragent_mirror_auth_checks_total", "Upstream access checks before serving cached content; result: allowed|cached|denied|error.", "result");

    public static readonly Counter DigestMismatches = Metrics.CreateCounter(
        "peeragent_mirror_digest_mismatches_total", "Transfers whose bytes did not match their digest; never served as complete.", "kind");

    public static readonly Counter UpstreamRequests = Metrics.CreateCounter(
        "peeragent_upstream_requests_total", "Requests to upstream registries by status class, error or circuit_open.", "outcome");

    public static readonly Counter UpstreamReceivedBytes = Metrics.CreateCounter(
        "peeragent_upstream_received_bytes_total", "Body bytes received from upstream registries.", "kind");

    // Children used per chunk on the blob data path, resolved once instead of per call.
    public static readonly Counter.Child UpstreamBlobBytes = UpstreamReceivedBytes.WithLabels("blob");
    public static readonly Counter.Child ServedBlobBytesFromUpstream = MirrorServedBytes.WithLabels("blob", "upstream");
    public static readonly Counter.Child ServedBlobBytesFromCache = MirrorServedBytes.WithLabels("blob", "cache");

    public static readonly Gauge StoreUsedBytes = Metrics.CreateGauge(
        "peeragent_store_used_bytes", "Bytes used by committed and reserved partial blobs.");

    public static readonly Gauge StoreQuotaBytes = Metrics.CreateGauge(
        "peeragent_store_quota_bytes", "Configured store quota.");

    public static readonly Gauge StoreBlobs = Metrics.CreateGauge(
        "peeragent_store_blobs", "Committed blobs in the store.");

    public static readonly Counter StoreEvictions = Metrics.CreateCounter(
        "peeragent_store_evictions_total", "Blobs evicted to stay under the quota.");

    /// <summary>Refreshes the store gauges just before each scrape.</summary>
    public static void ObserveDownloads(BlobDownloader downloads) =>
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() => DownloadsInFlight.Set(downloads.InFlight));

    public static void ObserveStore(ContentStore store) => Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
    {
        StoreUsedBytes.Set(store.UsedBytes);
        StoreQuotaBytes.Set(store.QuotaBytes);
        StoreBlobs.Set(store.BlobCount);
        StoreEvictions.IncTo(store.EvictionCount);
    });
}
