using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// Keeps node name → <see cref="NodePlacement"/> for every Kubernetes Node: lists them, then watches from the list's
/// resourceVersion (with bookmarks), resumes a broken watch from the last resourceVersion it saw, and lists again on
/// 410 Gone or after <see cref="RelistAfterFailures"/> failures in a row, waiting with capped, jittered backoff between
/// failed attempts. One writer (<see cref="RunAsync"/>), any number of readers.
/// </summary>
internal sealed class NodeInformer : INodeTopology
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";
    public const string RegionLabel = "topology.kubernetes.io/region";
    public const string HostnameLabel = "kubernetes.io/hostname";

    /// <summary>Failed list or watch attempts in a row after which the informer lists again instead of resuming.</summary>
    public const int RelistAfterFailures = 3;

    /// <summary>Nodes per list page: large clusters are listed in pages so that no single response is huge.</summary>
    public const int PageSize = 500;

    private readonly IKubernetes _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InformerBackoff _backoff;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Only the writer touches the pool; it keeps one string instance per distinct zone and region.
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, NodePlacement> _nodes = new(StringComparer.Ordinal);
    private volatile string? _resourceVersion;
    private long _pendingBackoffTicks = -1;

    public NodeInformer(IKubernetes client, TimeProvider time, ILogger<NodeInformer> logger, InformerBackoff? backoff = null)
    {
        _client = client;
        _time = time;
        _logger = logger;
        _backoff = backoff ?? new InformerBackoff(InformerBackoff.DefaultInitial, InformerBackoff.DefaultCap);
    }

    public bool IsAuthoritative => true;

    /// <summary>True once the first complete list is in.</summary>
    public bool IsSynced => _synced.Task.IsCompleted;

    /// <summary>Completes when the first complete list is in.</summary>
    public Task Synced => _synced.Task;

    public int Count => _nodes.Count;

    /// <summary>The resourceVersion the next watch starts from; null when the next step is a list.</summary>
    public string? ResourceVersion => _resourceVersion;

    /// <summary>The backoff the informer is waiting out now (its timer already started), or null.</summary>
    public TimeSpan? PendingBackoff
    {
        get
        {
            var ticks = Interlocked.Read(ref _pendingBackoffTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    public bool TryGet(string nodeName, out NodePlacement placement)
    {
        if (string.IsNullOrEmpty(nodeName))
        {
            placement = default;
            return false;
        }

        return _nodes.TryGetValue(nodeName, out placement);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var relistReason = "initial";
        while (!cancellationToken.IsCancellationRequested)
        {
            var operation = "list";
            try
            {
                if (_resourceVersion is null)
                {
                    await ListAsync(relistReason, cancellationToken);
                    failures = 0;
                }

                operation = "watch";
                var (outcome, events, error) = await WatchAsync(_resourceVersion!, cancellationToken);
                if (outcome == WatchOutcome.Gone)
                {
                    TopologyLog.Gone(_logger, _resourceVersion ?? "");
                    _resourceVersion = null;
                    relistReason = "gone";
                    failures = 0;
                    continue;
                }

                if (outcome == WatchOutcome.Failed)
                {
                    TopologyMetrics.WatchFailures.Inc();
                }

                if (events > 0)
                {
                    // It made progress (closed by the server's timeout, or broken after some events): resume at once
                    // from where it got to.
                    TopologyLog.WatchEnded(_logger, _resourceVersion ?? "", error);
                    failures = 0;
                    continue;
                }

                // Nothing came through (an error at once, or a server that closes every watch straight away): back
                // off, or this spins.
                failures++;
                await BackOffAsync(operation, failures, error, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsGone(ex))
            {
                TopologyLog.Gone(_logger, _resourceVersion ?? "");
                _resourceVersion = null;
                relistReason = "gone";
                failures = 0;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Any failure (connection, status, a body that does not parse, a client timeout) is retried: a
                // scheduler without topology still schedules, so the informer must not stop the process.
                failures++;
                TopologyMetrics.WatchFailures.Inc();
                await BackOffAsync(operation, failures, ex, cancellationToken);
            }

            if (failures >= RelistAfterFailures && _resourceVersion is not null)
            {
                TopologyLog.RelistAfterFailures(_logger, failures);
                _resourceVersion = null;
                relistReason = "failures";
            }
        }
    }

    private async Task BackOffAsync(string operation, int failures, Exception? exception, CancellationToken cancellationToken)
    {
        var delay = _backoff.Delay(failures);
        TopologyLog.Failed(_logger, operation, failures, delay, exception);
        // The timer starts before the wait is published, so whoever advances the clock after seeing it moves this wait.
        var wait = Task.Delay(delay, _time, cancellationToken);
        Interlocked.Exchange(ref _pendingBackoffTicks, delay.Ticks);
        try
        {
            await wait;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            Interlocked.Exchange(ref _pendingBackoffTicks, -1);
        }
    }

    private async Task ListAsync(string reason, CancellationToken cancellationToken)
    {
        var nodes = new ConcurrentDictionary<string, NodePlacement>(StringComparer.Ordinal);
        string? continueToken = null;
        string? resourceVersion;
        var pages = 0;
        do
        {
            using var response = await _client.CoreV1.ListNodeWithHttpMessagesAsync(
                continueParameter: continueToken, limit: PageSize, cancellationToken: cancellationToken);
            var list = response.Body;
            foreach (var node in list.Items ?? [])
            {
                if (node.Metadata?.Name is { Length: > 0 } name)
                {
                    nodes[name] = Place(name, node.Metadata.Labels);
                }
            }

            resourceVersion = list.Metadata?.ResourceVersion;
            continueToken = list.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(continueToken) && ++pages < 100_000);

        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new KubernetesException("the Node list carried no resourceVersion to watch from");
        }

        _nodes = nodes;
        _resourceVersion = resourceVersion;
        TopologyMetrics.Nodes.Set(nodes.Count);
        TopologyMetrics.Relists.WithLabels(reason).Inc();
        TopologyMetrics.Synced.Set(1);
        TopologyLog.Listed(_logger, nodes.Count, resourceVersion, reason);
        _synced.TrySetResult();
    }

    private async Task<(WatchOutcome Outcome, int Events, Exception? Error)> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? error = null;
        var events = 0;
#pragma warning disable CA5394 // Spreads watch restarts over time; nothing depends on it being unpredictable.
        var timeoutSeconds = 300 + Random.Shared.Next(300);
#pragma warning restore CA5394
        try
        {
            await foreach (var (type, node) in _client.CoreV1.WatchListNodeAsync(
                allowWatchBookmarks: true,
                resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds,
                onError: ex =>
                {
                    // An ERROR event (a Status, e.g. 410 Expired) or an unreadable line: this watch is over.
                    error ??= ex;
                    stop.Cancel();
                },
                cancellationToken: stop.Token))
            {
                Apply(type, node);
                events++;
            }
        }
        catch (OperationCanceledException) when (error is not null && !cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            if (events == 0)
            {
                throw;
            }

            // Broken after progress (an API server restart, a proxy's idle timeout): resumed at once, not a warning.
            return (WatchOutcome.Failed, events, ex);
        }

        if (error is not null)
        {
            return (IsGone(error) ? WatchOutcome.Gone : WatchOutcome.Failed, events, error);
        }

        return (WatchOutcome.Ended, events, null);
    }

    private void Apply(WatchEventType type, V1Node? node)
    {
        var metadata = node?.Metadata;
        if (metadata is null)
        {
            return;
        }

        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                if (metadata.Name is { Length: > 0 } name)
                {
                    var placement = Place(name, metadata.Labels);
                    _nodes[name] = placement;
                    TopologyLog.NodeChanged(_logger, name, type == WatchEventType.Added ? "added" : "modified", placement.Zone, placement.Region);
                }

                break;
            case WatchEventType.Deleted:
                if (metadata.Name is { Length: > 0 } deleted && _nodes.TryRemove(deleted, out var gone))
                {
                    TopologyLog.NodeChanged(_logger, deleted, "deleted", gone.Zone, gone.Region);
                }

                break;
            case WatchEventType.Bookmark:
                break;
            default:
                return;
        }

        TopologyMetrics.WatchEvents.WithLabels(type switch
        {
            WatchEventType.Added => "added",
            WatchEventType.Modified => "modified",
            WatchEventType.Deleted => "deleted",
            _ => "bookmark",
        }).Inc();
        TopologyMetrics.Nodes.Set(_nodes.Count);
        if (!string.IsNullOrEmpty(metadata.ResourceVersion))
        {
            _resourceVersion = metadata.ResourceVersion;
        }
    }

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

    private static bool IsGone(Exception ex) => ex switch
    {
        KubernetesException { Status.Code: (int)HttpStatusCode.Gone } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };

    private enum WatchOutcome
    {
        /// <summary>The server closed the watch (its timeout): watch again from the last resourceVersion.</summary>
        Ended,

        /// <summary>The resourceVersion is too old: list again.</summary>
        Gone,

        /// <summary>An error event or a broken connection.</summary>
        Failed,
    }
}
