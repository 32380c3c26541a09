using System.Diagnostics;
using System.Globalization;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Bench.Topology;

/// <summary>
/// The scheduler's Node informer against the in-process fake Kubernetes API server (127.0.0.1): time from start to
/// the first complete view of N Nodes (listed in pages of <see cref="NodeInformer.PageSize"/>), and the managed memory
/// the informer retains for them. Measures; never passes or fails on a figure.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var nodes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        if (nodes < 1 || rounds < 1 || rounds > 50)
        {
            await Console.Error.WriteLineAsync("usage: PeerAgent.Bench.Topology [nodes >= 1] [rounds 1-50]");
            return 2;
        }

        await using var api = await FakeKubernetesApi.StartAsync();
        // 3 regions x 3 zones, names and labels as cloud providers set them.
        api.SeedNodes(nodes, i => ($"ip-10-{i / 65536 % 256}-{i / 256 % 256}-{i % 256}.compute.internal", $"region-{i % 3}{(char)('a' + (i / 3 % 3))}", $"region-{i % 3}"));
        Console.WriteLine($"Node informer: {nodes:N0} Nodes from the fake API server, {rounds} rounds (plus one warm-up), pages of {NodeInformer.PageSize}");

        var times = new List<double>();
        var retained = new List<long>();
        for (var round = 0; round <= rounds; round++)
        {
            var result = await RoundAsync(api, nodes);
            if (result is null)
            {
                return 1;
            }

            // The round's state machine (and with it the informer) is garbage now: what this frees is what it held.
            for (var i = 0; i < 200 && api.OpenWatches > 0; i++)
            {
                await Task.Delay(10);
            }

            var released = Collect();
            if (round == 0)
            {
                continue;
            }

            var (elapsed, alive) = result.Value;
            times.Add(elapsed);
            retained.Add(alive - released);
            Console.WriteLine($"  round {round}: first complete view {elapsed,7:F1} ms, retained {(alive - released) / 1024.0 / 1024.0,6:F2} MiB");
        }

        times.Sort();
        retained.Sort();
        var medianBytes = retained[retained.Count / 2];
        Console.WriteLine($"median time to first complete view: {times[times.Count / 2]:F1} ms");
        Console.WriteLine($"median informer memory retained:    {medianBytes / 1024.0 / 1024.0:F2} MiB ({medianBytes / (double)nodes:F0} B per Node)");
        return 0;
    }

    /// <summary>One informer from start to its first complete view; the managed heap with it alive.</summary>
    private static async Task<(double Elapsed, long Alive)?> RoundAsync(FakeKubernetesApi api, int nodes)
    {
        var watch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = api.Url });
        var informer = new NodeInformer(client, TimeProvider.System, NullLogger<NodeInformer>.Instance);
        var run = Task.Run(() => informer.RunAsync(stop.Token));
        if (await Task.WhenAny(informer.Synced, Task.Delay(TimeSpan.FromMinutes(2))) != informer.Synced)
        {
            await Console.Error.WriteLineAsync("the informer did not complete its first list within 2 minutes");
            return null;
        }

        var elapsed = watch.Elapsed.TotalMilliseconds;
        if (informer.Count != nodes || !informer.TryGet("ip-10-0-0-0.compute.internal", out var first) || first.Zone != "region-0a")
        {
            await Console.Error.WriteLineAsync($"broken premise: the view has {informer.Count} Nodes, not {nodes}");
            return null;
        }

        var alive = Collect();
        GC.KeepAlive(informer);
        await stop.CancelAsync();
        await run;
        return (elapsed, alive);
    }

    private static long Collect()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
