using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// Keeps node name → <see cref="NodePlacement"/> for every Kubernetes Node, through the list/watch loop of
/// <see cref="ListWatchInformer{T, TListing}"/>. One writer (<see cref="ListWatchInformer{T, TListing}.RunAsync"/>),
/// any number of readers.
/// </summary>
internal sealed class NodeInformer : ListWatchInformer<V1Node, ConcurrentDictionary<string, NodePlacement>>, INodeTopology
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";
    public const string RegionLabel = "topology.kubernetes.io/region";
    public const string HostnameLabel = "kubernetes.io/hostname";

    private readonly IKubernetes _client;

    // Only the writer touches the pool; it keeps one string instance per distinct zone and region.
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, NodePlacement> _nodes = new(StringComparer.Ordinal);

    public NodeInformer(IKubernetes client, TimeProvider time, ILogger<NodeInformer> logger, InformerBackoff? backoff = null)
        : base("Node", time, logger, backoff)
    {
        _client = client;
    }

    public bool IsAuthoritative => true;

    public int Count => _nodes.Count;

    public bool TryGet(string nodeName, out NodePlacement placement)
    {
        if (string.IsNullOrEmpty(nodeName))
        {
            placement = default;
            return false;
        }

        return _nodes.TryGetValue(nodeName, out placement);
    }

    protected override async Task<ListPage> ListPageAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        using var response = await _client.CoreV1.ListNodeWithHttpMessagesAsync(
            continueParameter: continueToken, limit: limit, cancellationToken: cancellationToken);
        var list = response.Body;
        return new ListPage(list.Items, list.Metadata?.ResourceVersion, list.Metadata?.ContinueProperty);
    }

    protected override IAsyncEnumerable<(WatchEventType Type, V1Node Item)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
        _client.CoreV1.WatchListNodeAsync(
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            onError: onError,
            cancellationToken: cancellationToken);

    protected override ConcurrentDictionary<string, NodePlacement> BeginListing() => new(StringComparer.Ordinal);

    protected override void AddListed(ConcurrentDictionary<string, NodePlacement> listing, V1Node item)
    {
        if (item.Metadata?.Name is { Length: > 0 } name)
        {
            listing[name] = Place(name, item.Metadata.Labels);
        }
    }

    protected override int Replace(ConcurrentDictionary<string, NodePlacement> listing)
    {
        _nodes = listing;
        return listing.Count;
    }

    protected override void Apply(WatchEventType type, V1Node item)
    {
        var metadata = item.Metadata;
        if (type == WatchEventType.Deleted)
        {
            if (metadata.Name is { Length: > 0 } deleted && _nodes.TryRemove(deleted, out var gone))
            {
                TopologyLog.NodeChanged(Logger, deleted, "deleted", gone.Zone, gone.Region);
            }

            return;
        }

        if (metadata.Name is { Length: > 0 } name)
        {
            var placement = Place(name, metadata.Labels);
            _nodes[name] = placement;
            TopologyLog.NodeChanged(Logger, name, type == WatchEventType.Added ? "added" : "modified", placement.Zone, placement.Region);
        }
    }

    protected override void OnListed(string reason, int count)
    {
        TopologyMetrics.Nodes.Set(count);
        TopologyMetrics.Relists.WithLabels(reason).Inc();
        TopologyMetrics.Synced.Set(1);
    }

    protected override void OnWatchEvent(WatchEventType type)
    {
        TopologyMetrics.WatchEvents.WithLabels(EventLabel(type)).Inc();
        TopologyMetrics.Nodes.Set(_nodes.Count);
    }

    protected override void OnFailure() => TopologyMetrics.WatchFailures.Inc();

    private NodePlacement Place(string name, IDictionary<string, string>? labels)
    {
        string? zone = null, region = null, hostname = null;
        labels?.TryGetValue(ZoneLabel, out zone);
        labels?.TryGetValue(RegionLabel, out region);
        labels?.TryGetValue(HostnameLabel, out hostname);
        return new NodePlacement(
            Intern(zone),
            Intern(region),
            string.IsNullOrEmpty(hostname) ? "" : string.Equals(hostname, name, StringComparison.Ordinal) ? name : hostname);
    }

    private string Intern(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (!_pool.TryGetValue(value, out var interned))
        {
            // Zones and regions are a handful of values; a cluster that cycles through thousands is misconfigured,
            // and the pool is only a saving, so stop growing it rather than keep every value forever.
            if (_pool.Count >= 4096)
            {
                return value;
            }

            _pool.Add(value, value);
            interned = value;
        }

        return interned;
    }
}
