using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Scheduler.Topology;

/// <summary>
/// The one list/watch loop of the scheduler's informers: lists every object of a kind (in pages), then watches from the
/// list's resourceVersion (with bookmarks), resumes a broken watch from the last resourceVersion it saw, and lists again
/// on 410 Gone or after <see cref="RelistAfterFailures"/> failures in a row, waiting with capped, jittered backoff
/// between failed attempts. Subclasses say how to list a page, how to open a watch, how to build their view from a
/// complete list and how to apply one event. One writer (<see cref="RunAsync"/>), any number of readers of the view.
/// </summary>
/// <typeparam name="T">The Kubernetes object listed and watched.</typeparam>
/// <typeparam name="TListing">
/// What a list builds page by page before it replaces the view; only the projection of each object is kept, so a large
/// list does not hold every object until its last page.
/// </typeparam>
internal abstract class ListWatchInformer<T, TListing>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Failed list or watch attempts in a row after which the informer lists again instead of resuming.</summary>
    public const int RelistAfterFailures = 3;

    /// <summary>Objects per list page: large lists are read in pages so that no single response is huge.</summary>
    public const int PageSize = 500;

    private readonly TimeProvider _time;
    private readonly InformerBackoff _backoff;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _resourceVersion;
    private long _pendingBackoffTicks = -1;

    protected ListWatchInformer(string kind, TimeProvider time, ILogger logger, InformerBackoff? backoff)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        Kind = kind;
        _time = time;
        Logger = logger;
        _backoff = backoff ?? new InformerBackoff(InformerBackoff.DefaultInitial, InformerBackoff.DefaultCap);
    }

    /// <summary>The kind watched, as logs name it (<c>Node</c>, <c>EndpointSlice</c>).</summary>
    public string Kind { get; }

    /// <summary>True once the first complete list is in.</summary>
    public bool IsSynced => _synced.Task.IsCompleted;

    /// <summary>Completes when the first complete list is in.</summary>
    public Task Synced => _synced.Task;

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

    protected ILogger Logger { get; }

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
                    TopologyLog.Gone(Logger, Kind, _resourceVersion ?? "");
                    _resourceVersion = null;
                    relistReason = "gone";
                    failures = 0;
                    continue;
                }

                if (outcome == WatchOutcome.Failed)
                {
                    OnFailure();
                }

                if (events > 0)
                {
                    // It made progress (closed by the server's timeout, or broken after some events): resume at once
                    // from where it got to.
                    TopologyLog.WatchEnded(Logger, Kind, _resourceVersion ?? "", error);
                    failures = 0;
                    continue;
                }

                // Nothing came through (an error at once, or a server that closes every watch straight away): back
                // off, or this spins.
                failures++;
                await BackOffAsync(operation, failures, error, cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping. A request that failed meanwhile (an error status that arrived as the stop was asked) is
                // part of the stop, not a fault: the informer ends quietly either way.
                return;
            }
            catch (Exception ex) when (IsGone(ex))
            {
                TopologyLog.Gone(Logger, Kind, _resourceVersion ?? "");
                _resourceVersion = null;
                relistReason = "gone";
                failures = 0;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Any failure (connection, status, a body that does not parse, a client timeout) is retried: the
                // scheduler works without this view (only less well), so the informer must not stop the process.
                failures++;
                OnFailure();
                await BackOffAsync(operation, failures, ex, cancellationToken);
            }

            if (failures >= RelistAfterFailures && _resourceVersion is not null)
            {
                TopologyLog.RelistAfterFailures(Logger, failures, Kind);
                _resourceVersion = null;
                relistReason = "failures";
            }
        }
    }

    /// <summary>Lists one page: from the start when <paramref name="continueToken"/> is null.</summary>
    protected abstract Task<ListPage> ListPageAsync(string? continueToken, int limit, CancellationToken cancellationToken);

    /// <summary>Opens a watch from <paramref name="resourceVersion"/> with bookmarks; <paramref name="onError"/> ends it.</summary>
    protected abstract IAsyncEnumerable<(WatchEventType Type, T Item)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken);

    /// <summary>An empty listing for a new list.</summary>
    protected abstract TListing BeginListing();

    /// <summary>Adds one listed object to <paramref name="listing"/>.</summary>
    protected abstract void AddListed(TListing listing, T item);

    /// <summary>Replaces the whole view with a complete list; returns how many objects it holds.</summary>
    protected abstract int Replace(TListing listing);

    /// <summary>Applies one ADDED, MODIFIED or DELETED event (never a bookmark) to the view.</summary>
    protected abstract void Apply(WatchEventType type, T item);

    /// <summary>After a complete list replaced the view (reason: initial, gone, failures): metrics.</summary>
    protected virtual void OnListed(string reason, int count)
    {
    }

    /// <summary>After an event (bookmarks included) was applied: metrics.</summary>
    protected virtual void OnWatchEvent(WatchEventType type)
    {
    }

    /// <summary>A list or watch request failed: metrics.</summary>
    protected virtual void OnFailure()
    {
    }

    /// <summary>The label value of an event type for metrics.</summary>
    protected static string EventLabel(WatchEventType type) => type switch
    {
        WatchEventType.Added => "added",
        WatchEventType.Modified => "modified",
        WatchEventType.Deleted => "deleted",
        _ => "bookmark",
    };

    private async Task BackOffAsync(string operation, int failures, Exception? exception, CancellationToken cancellationToken)
    {
        var delay = _backoff.Delay(failures);
        TopologyLog.Failed(Logger, Kind, operation, failures, delay, exception);
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
        var listing = BeginListing();
        string? continueToken = null;
        string? resourceVersion;
        var pages = 0;
        do
        {
            var page = await ListPageAsync(continueToken, PageSize, cancellationToken);
            foreach (var item in page.Items ?? [])
            {
                AddListed(listing, item);
            }

            resourceVersion = page.ResourceVersion;
            continueToken = page.Continue;
        }
        while (!string.IsNullOrEmpty(continueToken) && ++pages < 100_000);

        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new KubernetesException($"the {Kind} list carried no resourceVersion to watch from");
        }

        var count = Replace(listing);
        _resourceVersion = resourceVersion;
        OnListed(reason, count);
        TopologyLog.Listed(Logger, count, Kind, resourceVersion, reason);
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
            await foreach (var (type, item) in WatchAsync(
                resourceVersion,
                timeoutSeconds,
                ex =>
                {
                    // An ERROR event (a Status, e.g. 410 Expired) or an unreadable line: this watch is over.
                    error ??= ex;
                    stop.Cancel();
                },
                stop.Token))
            {
                Dispatch(type, item);
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

    private void Dispatch(WatchEventType type, T? item)
    {
        var metadata = item?.Metadata;
        if (metadata is null)
        {
            return;
        }

        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
            case WatchEventType.Deleted:
                Apply(type, item!);
                break;
            case WatchEventType.Bookmark:
                break;
            default:
                return;
        }

        OnWatchEvent(type);
        if (!string.IsNullOrEmpty(metadata.ResourceVersion))
        {
            _resourceVersion = metadata.ResourceVersion;
        }
    }

    private static bool IsGone(Exception ex) => ex switch
    {
        KubernetesException { Status.Code: (int)HttpStatusCode.Gone } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };

    /// <summary>One page of a list: its objects, the list's resourceVersion, and the continue token (null on the last page).</summary>
    protected readonly record struct ListPage(IList<T>? Items, string? ResourceVersion, string? Continue);

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
