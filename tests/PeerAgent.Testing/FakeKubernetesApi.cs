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
/// A fake Kubernetes API server for Nodes and EndpointSlices, in-process on 127.0.0.1 (Kestrel, port 0), because no
/// real one can run here. It speaks what an informer needs: <c>GET /api/v1/nodes</c> and
/// <c>GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices</c> (a list with a resourceVersion; <c>limit</c>
/// and <c>continue</c> page a snapshot; <c>labelSelector</c> with <c>key=value</c> terms, comma-separated), and the
/// same with <c>watch=1&amp;resourceVersion=N</c>, a chunked stream of JSON lines replaying every matching event after
/// N and then live ones, with BOOKMARK events when asked. As in etcd, one resourceVersion counter and one history serve
/// both kinds. A resourceVersion older than <see cref="Compact"/> left is answered 410 Gone, as an HTTP status or as an
/// ERROR event (<see cref="GoneAsErrorEvent"/>). Open watches can be dropped mid-stream, and watch requests made to
/// fail. Every request is recorded.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly object _lock = new();
    /// <summary>The resource name of Nodes in <see cref="WatchRequest.Resource"/> and <see cref="ListRequestsFor"/>.</summary>
    public const string Nodes = "nodes";

    /// <summary>The resource name of EndpointSlices in <see cref="WatchRequest.Resource"/> and <see cref="ListRequestsFor"/>.</summary>
    public const string EndpointSlices = "endpointslices";

    private const string ServiceNameLabel = "kubernetes.io/service-name";

    private readonly SortedDictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);

    // Keyed "namespace/name", so a list is in the API server's order (namespace, then name).
    private readonly SortedDictionary<string, JsonObject> _slices = new(StringComparer.Ordinal);
    private readonly List<Event> _history = [];
    private readonly List<string> _listRequests = [];
    private readonly List<Watcher> _watchers = [];
    private readonly Dictionary<string, (long Version, List<string> Items)> _snapshots = [];
    private readonly List<WatchRequest> _watchRequests = [];
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private long _version = 100;
    private long _oldest = 100;
    private int _failNextWatches;

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

    /// <summary>List requests (every page counts), of both kinds.</summary>
    public int ListRequests
    {
        get
        {
            lock (_lock)
            {
                return _listRequests.Count;
            }
        }
    }

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

    /// <summary>Open watch streams, of both kinds.</summary>
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

    /// <summary>List requests (every page counts) of one resource, <see cref="Nodes"/> or <see cref="EndpointSlices"/>.</summary>
    public int ListRequestsFor(string resource)
    {
        lock (_lock)
        {
            return _listRequests.Count(r => r == resource);
        }
    }

    /// <summary>Open watch streams of one resource, <see cref="Nodes"/> or <see cref="EndpointSlices"/>.</summary>
    public int OpenWatchesFor(string resource)
    {
        lock (_lock)
        {
            return _watchers.Count(w => w.Resource == resource);
        }
    }

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var api = new FakeKubernetesApi();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/api/v1/nodes", context => api.HandleAsync(context, Nodes, null));
        app.MapGet("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", context =>
            api.HandleAsync(context, EndpointSlices, (string)context.Request.RouteValues["ns"]!));
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
            Publish(Nodes, null, type, node);
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
                Publish(Nodes, null, "DELETED", node);
            }
        }
    }

    /// <summary>
    /// Adds an EndpointSlice of <paramref name="service"/> (label <c>kubernetes.io/service-name</c>) or replaces its
    /// endpoints (ADDED or MODIFIED): one port named <c>grpc</c>, and one endpoint per address with
    /// <c>conditions.ready</c> as given. The address type is IPv6 when any address is one, else IPv4.
    /// </summary>
    public void SetEndpointSlice(string @namespace, string name, string service, int grpcPort, IEnumerable<(string Address, bool Ready)> endpoints) =>
        SetEndpointSlice(@namespace, name, service, "grpc", grpcPort, endpoints);

    /// <summary>As the other overload, with the port named <paramref name="portName"/> (a slice without a <c>grpc</c> port).</summary>
    public void SetEndpointSlice(string @namespace, string name, string service, string portName, int port, IEnumerable<(string Address, bool Ready)> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var list = new JsonArray();
        var ipv6 = false;
        foreach (var (address, ready) in endpoints)
        {
            ipv6 |= address.Contains(':', StringComparison.Ordinal);
            list.Add(new JsonObject
            {
                ["addresses"] = new JsonArray(address),
                ["conditions"] = new JsonObject { ["ready"] = ready, ["serving"] = ready, ["terminating"] = false },
            });
        }

        lock (_lock)
        {
            var key = $"{@namespace}/{name}";
            var type = _slices.ContainsKey(key) ? "MODIFIED" : "ADDED";
            var slice = new JsonObject
            {
                ["kind"] = "EndpointSlice",
                ["apiVersion"] = "discovery.k8s.io/v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = @namespace,
                    ["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture),
                    ["labels"] = new JsonObject
                    {
                        [ServiceNameLabel] = service,
                        ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
                    },
                },
                ["addressType"] = ipv6 ? "IPv6" : "IPv4",
                ["endpoints"] = list,
                ["ports"] = new JsonArray(new JsonObject { ["name"] = portName, ["port"] = port, ["protocol"] = "TCP" }),
            };
            _slices[key] = slice;
            Publish(EndpointSlices, @namespace, type, slice);
        }
    }

    public void DeleteEndpointSlice(string @namespace, string name)
    {
        lock (_lock)
        {
            if (_slices.Remove($"{@namespace}/{name}", out var slice))
            {
                slice = (JsonObject)slice.DeepClone();
                slice["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                Publish(EndpointSlices, @namespace, "DELETED", slice);
            }
        }
    }

    /// <summary>Sends a BOOKMARK at a new resourceVersion to watches that asked for bookmarks; returns that version.</summary>
    public long Bookmark()
    {
        lock (_lock)
        {
            var version = ++_version;
            foreach (var watcher in _watchers)
            {
                if (watcher.Bookmarks)
                {
                    var (kind, apiVersion) = watcher.Resource == Nodes ? ("Node", "v1") : ("EndpointSlice", "discovery.k8s.io/v1");
                    watcher.Lines.Writer.TryWrite(Line("BOOKMARK", new JsonObject
                    {
                        ["kind"] = kind,
                        ["apiVersion"] = apiVersion,
                        ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
                    }));
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

    /// <summary>Writes a kubeconfig pointing at this server (a token it ignores) into <paramref name="dir"/>; returns its path.</summary>
    public async Task<string> WriteKubeconfigAsync(TempDir dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var path = dir.File("config");
        await File.WriteAllTextAsync(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {{Url}}
            users:
            - name: nobody
              user:
                token: fake-api-ignores-it
            contexts:
            - name: fake
              context:
                cluster: fake
                user: nobody
            current-context: fake
            """);
        return path;
    }

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

    private static Dictionary<string, string> LabelsOf(JsonObject item)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (item["metadata"]?["labels"] is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                labels[key] = value?.GetValue<string>() ?? "";
            }
        }

        return labels;
    }

    /// <summary>Equality terms only (<c>a=b</c>, <c>a==b</c>), comma-separated; null when the selector is something else.</summary>
    private static List<(string Key, string Value)>? ParseSelector(string selector)
    {
        var terms = new List<(string, string)>();
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = term.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || term.Contains("!=", StringComparison.Ordinal))
            {
                return null;
            }

            var value = term[(at + 1)..];
            if (value.StartsWith('='))
            {
                value = value[1..];
            }

            terms.Add((term[..at].Trim(), value.Trim()));
        }

        return terms;
    }

    private static bool Matches(Filter filter, string resource, string? @namespace, Dictionary<string, string> labels) =>
        filter.Resource == resource
        && (filter.Namespace is null || filter.Namespace == @namespace)
        && filter.Selector.All(t => labels.TryGetValue(t.Key, out var v) && v == t.Value);

    private void Publish(string resource, string? @namespace, string type, JsonObject item)
    {
        var line = Line(type, item);
        var entry = new Event(_version, resource, @namespace, LabelsOf(item), line);
        _history.Add(entry);
        foreach (var watcher in _watchers)
        {
            if (Matches(watcher.Filter, resource, @namespace, entry.Labels))
            {
                watcher.Lines.Writer.TryWrite(line);
            }
        }
    }

    private async Task HandleAsync(HttpContext context, string resource, string? @namespace)
    {
        var query = context.Request.Query;
        var selector = ParseSelector(query["labelSelector"].ToString());
        if (selector is null)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync($"this fake API understands only key=value label selectors, not '{query["labelSelector"]}'", context.RequestAborted);
            return;
        }

        var filter = new Filter(resource, @namespace, selector);
        var watch = query["watch"].ToString() is "1" or "true";
        await (watch ? WatchAsync(context, filter) : ListAsync(context, filter));
    }

    private async Task ListAsync(HttpContext context, Filter filter)
    {
        var query = context.Request.Query;
        var limit = int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var l) && l > 0 ? l : int.MaxValue;
        var token = query["continue"].ToString();
        long version;
        List<string> items;
        int offset;
        lock (_lock)
        {
            _listRequests.Add(filter.Resource);
            if (string.IsNullOrEmpty(token))
            {
                // A consistent snapshot that later pages read from, as the API server's continue tokens do.
                version = _version;
                var source = filter.Resource == Nodes ? _nodes.Values : _slices.Values;
                items = [.. source
                    .Where(i => Matches(filter, filter.Resource, i["metadata"]?["namespace"]?.GetValue<string>(), LabelsOf(i)))
                    .Select(i => i.ToJsonString())];
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
        body.Append(filter.Resource == Nodes
                ? "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\""
                : "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\"")
            .Append(",\"metadata\":{\"resourceVersion\":\"")
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

    private async Task WatchAsync(HttpContext context, Filter filter)
    {
        var query = context.Request.Query;
        var requested = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        if (Interlocked.Decrement(ref _failNextWatches) >= 0)
        {
            lock (_lock)
            {
                _watchRequests.Add(new WatchRequest(requested, bookmarks, 500) { Resource = filter.Resource });
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
            _watchRequests.Add(new WatchRequest(requested, bookmarks, gone && !GoneAsErrorEvent ? 410 : 200) { Resource = filter.Resource });
            if (gone)
            {
                watcher = null!;
            }
            else
            {
                watcher = new Watcher(filter, bookmarks, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token));
                foreach (var entry in _history)
                {
                    if (entry.Version > from && Matches(filter, entry.Resource, entry.Namespace, entry.Labels))
                    {
                        watcher.Lines.Writer.TryWrite(entry.Line);
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
    public sealed record WatchRequest(string ResourceVersion, bool AllowBookmarks, int Status)
    {
        /// <summary><see cref="Nodes"/> or <see cref="EndpointSlices"/>.</summary>
        public string Resource { get; init; } = Nodes;
    }

    /// <summary>What a list or watch asked for: a resource, a namespace (null: cluster-scoped), equality label terms.</summary>
    private sealed record Filter(string Resource, string? Namespace, List<(string Key, string Value)> Selector);

    /// <summary>One change in the shared history, with what watch filters match it on.</summary>
    private sealed record Event(long Version, string Resource, string? Namespace, Dictionary<string, string> Labels, string Line);

    private sealed class Watcher(Filter filter, bool bookmarks, CancellationTokenSource drop)
    {
        public Filter Filter { get; } = filter;

        public string Resource => Filter.Resource;

        public bool Bookmarks { get; } = bookmarks;

        public CancellationTokenSource Drop { get; } = drop;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
    }
}
