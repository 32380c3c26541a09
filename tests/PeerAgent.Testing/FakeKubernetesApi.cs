using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Testing;

/// <summary>
/// A fake Kubernetes API server for Nodes, in-process on 127.0.0.1 (Kestrel, port 0), because no real one can run
/// here. It speaks what an informer needs: <c>GET /api/v1/nodes</c> (a list with a resourceVersion; <c>limit</c> and
/// <c>continue</c> page a snapshot), and <c>GET /api/v1/nodes?watch=1&amp;resourceVersion=N</c>, a chunked stream of
/// JSON lines replaying every event after N and then live ones, with BOOKMARK events when asked. A resourceVersion
/// older than <see cref="Compact"/> left is answered 410 Gone, as an HTTP status or as an ERROR event
/// (<see cref="GoneAsErrorEvent"/>). Open watches can be dropped mid-stream, and watch requests made to fail.
/// Every request is recorded.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly SortedDictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Line)> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly Dictionary<string, (long Version, List<string> Items)> _snapshots = [];
    private readonly List<WatchRequest> _watchRequests = [];
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private long _version = 100;
    private long _oldest = 100;
    private int _failNextWatches;
    private int _listRequests;

    private FakeKubernetesApi()
    {
    }

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Answer a stale resourceVersion with a 200 watch whose only event is an ERROR Status 410, not an HTTP 410.</summary>
    public bool GoneAsErrorEvent { get; set; }

    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    public int ListRequests => Volatile.Read(ref _listRequests);

    public IReadOnlyList<WatchRequest> WatchRequests
    {
        get
        {
            lock (_lock)
            {
                return [.. _watchRequests];
            }
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Count;
            }
        }
    }

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var api = new FakeKubernetesApi();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/api/v1/nodes", api.HandleAsync);
        await app.StartAsync();
        api._app = app;
        api.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return api;
    }

    /// <summary>Adds a Node or changes its labels (ADDED or MODIFIED); a null label is left out.</summary>
    public void SetNode(string name, string? zone, string? region, string? hostname = null)
    {
        lock (_lock)
        {
            var labels = new JsonObject();
            if (zone is not null)
            {
                labels["topology.kubernetes.io/zone"] = zone;
            }

            if (region is not null)
            {
                labels["topology.kubernetes.io/region"] = region;
            }

            labels["kubernetes.io/hostname"] = hostname ?? name;
            var type = _nodes.ContainsKey(name) ? "MODIFIED" : "ADDED";
            var node = Node(name, ++_version, labels);
            _nodes[name] = node;
            Publish(type, node);
        }
    }

    /// <summary>Adds many Nodes at once without watch events, as if they were there before anyone watched.</summary>
    public void SeedNodes(int count, Func<int, (string Name, string Zone, string Region)> describe)
    {
        ArgumentNullException.ThrowIfNull(describe);
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                var (name, zone, region) = describe(i);
                _nodes[name] = Node(name, ++_version, new JsonObject
                {
                    ["topology.kubernetes.io/zone"] = zone,
                    ["topology.kubernetes.io/region"] = region,
                    ["kubernetes.io/hostname"] = name,
                });
            }

            _oldest = _version;
        }
    }

    public void DeleteNode(string name)
    {
        lock (_lock)
        {
            if (_nodes.Remove(name, out var node))
            {
                node = Node(name, ++_version, (JsonObject)node["metadata"]!["labels"]!.DeepClone());
                Publish("DELETED", node);
            }
        }
    }

    /// <summary>Sends a BOOKMARK at a new resourceVersion to watches that asked for bookmarks; returns that version.</summary>
    public long Bookmark()
    {
        lock (_lock)
        {
            var version = ++_version;
            var line = Line("BOOKMARK", new JsonObject
            {
                ["kind"] = "Node",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
            });
            foreach (var watcher in _watchers)
            {
                if (watcher.Bookmarks)
                {
                    watcher.Lines.Writer.TryWrite(line);
                }
            }

            return version;
        }
    }

    /// <summary>Forgets history: a watch from any resourceVersion older than now gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _oldest = _version;
            _history.Clear();
        }
    }

    /// <summary>Aborts every open watch connection mid-stream (no final chunk).</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Drop.Cancel();
            }
        }
    }

    /// <summary>The next <paramref name="count"/> watch requests are answered 500.</summary>
    public void FailNextWatches(int count) => Interlocked.Exchange(ref _failNextWatches, count);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private static JsonObject Node(string name, long version, JsonObject labels) => new()
    {
        ["kind"] = "Node",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture),
            ["labels"] = labels,
        },
    };

    private static string Line(string type, JsonNode node) =>
        new JsonObject { ["type"] = type, ["object"] = node.DeepClone() }.ToJsonString() + "\n";

    private static JsonObject GoneStatus(long version) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = $"too old resource version: {version}",
        ["reason"] = "Expired",
        ["code"] = 410,
    };

    private void Publish(string type, JsonObject node)
    {
        var line = Line(type, node);
        _history.Add((_version, line));
        foreach (var watcher in _watchers)
        {
            watcher.Lines.Writer.TryWrite(line);
        }
    }

    private Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var watch = query["watch"].ToString() is "1" or "true";
        return watch ? WatchAsync(context) : ListAsync(context);
    }

    private async Task ListAsync(HttpContext context)
    {
        Interlocked.Increment(ref _listRequests);
        var query = context.Request.Query;
        var limit = int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var l) && l > 0 ? l : int.MaxValue;
        var token = query["continue"].ToString();
        long version;
        List<string> items;
        int offset;
        lock (_lock)
        {
            if (string.IsNullOrEmpty(token))
            {
                // A consistent snapshot that later pages read from, as the API server's continue tokens do.
                version = _version;
                items = [.. _nodes.Values.Select(n => n.ToJsonString())];
                offset = 0;
                token = Guid.NewGuid().ToString("N");
                _snapshots[token] = (version, items);
            }
            else
            {
                var parts = token.Split(':');
                (version, items) = _snapshots[parts[0]];
                offset = int.Parse(parts[1], CultureInfo.InvariantCulture);
                token = parts[0];
            }
        }

        var end = (int)Math.Min(items.Count, (long)offset + limit);
        var next = end < items.Count ? $"{token}:{end}" : null;
        if (next is null)
        {
            lock (_lock)
            {
                // The last page: nobody continues this snapshot.
                _snapshots.Remove(token);
            }
        }
        var body = new StringBuilder();
        body.Append("{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"")
            .Append(version.ToString(CultureInfo.InvariantCulture)).Append('"');
        if (next is not null)
        {
            body.Append(",\"continue\":\"").Append(next).Append('"');
        }

        body.Append("},\"items\":[");
        for (var i = offset; i < end; i++)
        {
            body.Append(i == offset ? "" : ",").Append(items[i]);
        }

        body.Append("]}");
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToString(), context.RequestAborted);
    }

    private async Task WatchAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var requested = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        if (Interlocked.Decrement(ref _failNextWatches) >= 0)
        {
            lock (_lock)
            {
                _watchRequests.Add(new WatchRequest(requested, bookmarks, 500));
            }

            context.Response.StatusCode = 500;
            return;
        }

        Interlocked.Exchange(ref _failNextWatches, 0);
        Watcher watcher;
        long from;
        lock (_lock)
        {
            from = long.TryParse(requested, CultureInfo.InvariantCulture, out var v) ? v : _version;
            var gone = from < _oldest;
            _watchRequests.Add(new WatchRequest(requested, bookmarks, gone && !GoneAsErrorEvent ? 410 : 200));
            if (gone)
            {
                watcher = null!;
            }
            else
            {
                watcher = new Watcher(bookmarks, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token));
                foreach (var (version, line) in _history)
                {
                    if (version > from)
                    {
                        watcher.Lines.Writer.TryWrite(line);
                    }
                }

                _watchers.Add(watcher);
            }
        }

        if (watcher is null)
        {
            var status = GoneStatus(from);
            if (GoneAsErrorEvent)
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(Line("ERROR", status), context.RequestAborted);
                return;
            }

            context.Response.StatusCode = 410;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(status.ToJsonString(), context.RequestAborted);
            return;
        }

        try
        {
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(watcher.Drop.Token);
            await context.Response.Body.FlushAsync(watcher.Drop.Token);
            await foreach (var line in watcher.Lines.Reader.ReadAllAsync(watcher.Drop.Token))
            {
                await context.Response.WriteAsync(line, watcher.Drop.Token);
                await context.Response.Body.FlushAsync(watcher.Drop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Dropped by the test (or the client went away): cut the connection, no final chunk.
            context.Abort();
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }

            watcher.Drop.Dispose();
        }
    }

    /// <summary>One watch request: the resourceVersion it asked for, whether it allowed bookmarks, and the status it got.</summary>
    public sealed record WatchRequest(string ResourceVersion, bool AllowBookmarks, int Status);

    private sealed class Watcher(bool bookmarks, CancellationTokenSource drop)
    {
        public bool Bookmarks { get; } = bookmarks;

        public CancellationTokenSource Drop { get; } = drop;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
    }
}
