using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// The scheduler replicas, from the EndpointSlices of the shard Service (label <c>kubernetes.io/service-name</c>) in
/// one namespace: every ready endpoint's addresses with the slice's port named <c>grpc</c>, as
/// <c>{scheme}://{address}:{port}</c>, ordinal-sorted and without duplicates. The list/watch loop is
/// <see cref="ListWatchInformer{T, TListing}"/>'s; gRPC handlers read <see cref="Replicas"/>, an immutable array that
/// is swapped whole. Empty until the first list completes.
/// </summary>
internal sealed class EndpointSliceInformer : ListWatchInformer<V1EndpointSlice, Dictionary<string, string[]>>, IShardDirectory
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string GrpcPortName = "grpc";

    private readonly IKubernetes _client;
    private readonly string _labelSelector;

    // Writer only: each slice's replica URLs (empty for a slice without a grpc port), and the slices already warned about.
    private Dictionary<string, string[]> _slices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _withoutPort = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<string> _replicas = ImmutableArray<string>.Empty;

    public EndpointSliceInformer(
        IKubernetes client, string @namespace, string service, string scheme, TimeProvider time, ILogger<EndpointSliceInformer> logger, InformerBackoff? backoff = null)
        : base("EndpointSlice", time, logger, backoff)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        _client = client;
        Namespace = @namespace;
        Service = service;
        Scheme = scheme;
        _labelSelector = $"{ServiceNameLabel}={service}";
    }

    public string Namespace { get; }

    public string Service { get; }

    /// <summary><c>https</c>, or <c>http</c> when the scheduler serves plaintext h2c: replicas share one configuration.</summary>
    public string Scheme { get; }

    public IReadOnlyList<string> Replicas => _replicas;

    /// <summary>The scheme agents use to reach a replica: that of the replica's own <c>Scheduler:ListenUrl</c>.</summary>
    public static string SchemeOf(string listenUrl) =>
        listenUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "http" : "https";

    /// <summary>
    /// One slice's replica URLs: each address of each endpoint whose <c>conditions.ready</c> is not false (absent means
    /// ready, as in the Kubernetes API), with the port named <c>grpc</c>; null when the slice has no such port.
    /// </summary>
    public static string[]? ReplicasOf(V1EndpointSlice slice, string scheme)
    {
        ArgumentNullException.ThrowIfNull(slice);
        int? port = null;
        foreach (var candidate in slice.Ports ?? [])
        {
            if (string.Equals(candidate.Name, GrpcPortName, StringComparison.Ordinal) && candidate.Port is > 0 and <= 65535)
            {
                port = candidate.Port;
                break;
            }
        }

        if (port is null)
        {
            return null;
        }

        var urls = new List<string>();
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            if (endpoint.Conditions?.Ready == false)
            {
                continue;
            }

            foreach (var address in endpoint.Addresses ?? [])
            {
                if (Host(address) is { } host)
                {
                    urls.Add($"{scheme}://{host}:{port.Value}");
                }
            }
        }

        return [.. urls];
    }

    protected override async Task<ListPage> ListPageAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        using var response = await _client.DiscoveryV1.ListNamespacedEndpointSliceWithHttpMessagesAsync(
            Namespace, continueParameter: continueToken, labelSelector: _labelSelector, limit: limit, cancellationToken: cancellationToken);
        var list = response.Body;
        return new ListPage(list.Items, list.Metadata?.ResourceVersion, list.Metadata?.ContinueProperty);
    }

    protected override IAsyncEnumerable<(WatchEventType Type, V1EndpointSlice Item)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
        _client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            Namespace,
            allowWatchBookmarks: true,
            labelSelector: _labelSelector,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            onError: onError,
            cancellationToken: cancellationToken);

    protected override Dictionary<string, string[]> BeginListing() => new(StringComparer.Ordinal);

    protected override void AddListed(Dictionary<string, string[]> listing, V1EndpointSlice item)
    {
        if (item.Metadata?.Name is { Length: > 0 } name)
        {
            listing[name] = Project(name, item);
        }
    }

    protected override int Replace(Dictionary<string, string[]> listing)
    {
        _slices = listing;
        _withoutPort.IntersectWith(listing.Keys);
        Publish();
        return listing.Count;
    }

    protected override void Apply(WatchEventType type, V1EndpointSlice item)
    {
        if (item.Metadata.Name is not { Length: > 0 } name)
        {
            return;
        }

        if (type == WatchEventType.Deleted)
        {
            _slices.Remove(name);
            _withoutPort.Remove(name);
        }
        else
        {
            _slices[name] = Project(name, item);
        }

        Publish();
    }

    protected override void OnListed(string reason, int count)
    {
        ShardMetrics.Relists.WithLabels(reason).Inc();
        ShardMetrics.Synced.Set(1);
    }

    protected override void OnWatchEvent(WatchEventType type) => ShardMetrics.WatchEvents.WithLabels(EventLabel(type)).Inc();

    protected override void OnFailure() => ShardMetrics.WatchFailures.Inc();

    private string[] Project(string name, V1EndpointSlice slice)
    {
        var urls = ReplicasOf(slice, Scheme);
        if (urls is null)
        {
            // Once per slice: a watch delivers every endpoint change of it again.
            if (_withoutPort.Add(name))
            {
                TopologyLog.SliceWithoutGrpcPort(Logger, name, Service);
            }

            return [];
        }

        _withoutPort.Remove(name);
        return urls;
    }

    private void Publish()
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var urls in _slices.Values)
        {
            set.UnionWith(urls);
        }

        var current = _replicas;
        if (current.Count == set.Count && current.SequenceEqual(set, StringComparer.Ordinal))
        {
            return;
        }

        // Logged and counted before it is published, so whoever sees the new set also finds it in the log.
        var next = ImmutableArray.CreateRange(set);
        ShardMetrics.Replicas.Set(next.Length);
        TopologyLog.ReplicasChanged(Logger, next.Length, string.Join(", ", next));
        _replicas = next;
    }

    private static string? Host(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return null;
        }

        if (IPAddress.TryParse(address, out var ip))
        {
            return ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        }

        // An FQDN slice names hosts, not addresses.
        return Uri.CheckHostName(address) == UriHostNameType.Dns ? address.ToLowerInvariant() : null;
    }
}
