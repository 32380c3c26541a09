using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>One measured transfer of every piece of the blob.</summary>
internal sealed record Result(string Transport, string Security, string Sink, long Bytes, double Seconds, double ClientCpu, double ServerCpu)
{
    public double MegabytesPerSecond => Bytes / 1e6 / Seconds;
    public double CpuPerGb => (ClientCpu + ServerCpu) / (Bytes / 1e9);
}

internal static class Driver
{
    public static async Task<int> RunAsync(Options options)
    {
        Directory.CreateDirectory(options.Dir);
        BenchTls.Create(options.TlsRoot);
        using var security = BenchTls.Load(options.TlsRoot, BenchTls.Client);
        var rawTls = PieceFetch.RawTlsOptions(security);
        using var server = StartServer(options);
        try
        {
            var info = await WaitReadyAsync(server);
            using var store = new ContentStore(new ContentStoreOptions { RootPath = Path.Combine(options.Dir, "client"), QuotaBytes = 4L << 30 }, TimeProvider.System);
            await store.InitializeAsync(default);
            var digest = Digest.Parse(info.Digest);
            var layout = PieceLayout.For(info.Length);
            var sinks = options.Sink == "both" ? new[] { "null", "store" } : [options.Sink];

            var variants = new List<(string Transport, string Security, string Sink, Func<int, Task<long>> Run)>();
            foreach (var sink in sinks)
            {
                var toStore = sink == "store";
                variants.Add(("raw", "plain", sink, n => RunRawAsync(info.RawEndPoint(tls: false), null, store, digest, layout, n, options, toStore)));
                variants.Add(("grpc", "plain", sink, n => RunGrpcAsync(info.GrpcAddress(tls: false), null, store, digest, layout, n, options, toStore, options.WindowBytes)));
                variants.Add(("raw", "tls", sink, n => RunRawAsync(info.RawEndPoint(tls: true), rawTls, store, digest, layout, n, options, toStore)));
                variants.Add(("grpc", "tls", sink, n => RunGrpcAsync(info.GrpcAddress(tls: true), security, store, digest, layout, n, options, toStore, options.WindowBytes)));
            }

            // The same gRPC h2c path with the client's stream window left at the HTTP/2 default: what the knob buys.
            variants.Add(("grpc-default-window", "plain", "null", n => RunGrpcAsync(info.GrpcAddress(tls: false), null, store, digest, layout, n, options, toStore: false, windowBytes: 65535)));

            // Warm-up: JIT, connection setup, TLS handshakes and the page cache of the served blob stay out of the figures.
            foreach (var variant in variants)
            {
                await variant.Run(Math.Min(layout.PieceCount, 8));
            }

            // Rounds interleave the variants so drift (page cache, writeback, thermal) hits them alike; the median round is reported.
            var rounds = variants.Select(_ => new List<Result>()).ToList();
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var v = 0; v < variants.Count; v++)
                {
                    var variant = variants[v];
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    server.Refresh();
                    var serverCpu0 = server.TotalProcessorTime;
                    var clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var watch = Stopwatch.StartNew();
                    var moved = await variant.Run(layout.PieceCount);
                    watch.Stop();
                    var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu0).TotalSeconds;
                    server.Refresh();
                    var serverCpu = (server.TotalProcessorTime - serverCpu0).TotalSeconds;
                    if (moved != info.Length)
                    {
                        throw new InvalidOperationException($"{variant.Transport}/{variant.Security}/{variant.Sink} moved {moved} bytes, not {info.Length}");
                    }

                    var result = new Result(variant.Transport, variant.Security, variant.Sink, moved, watch.Elapsed.TotalSeconds, clientCpu, serverCpu);
                    rounds[v].Add(result);
                    Console.Error.WriteLine($"  round {round + 1} {variant.Transport}/{variant.Security}/{variant.Sink}: {result.MegabytesPerSecond:F0} MB/s, {result.CpuPerGb:F2} CPU s/GB");
                }
            }

            var results = rounds.Select(r => r.OrderBy(x => x.Seconds).ElementAt(r.Count / 2)).ToList();
            Print(results, options, info, layout);
            return 0;
        }
        finally
        {
            server.StandardInput.Close();
            if (!server.WaitForExit(10_000))
            {
                server.Kill(entireProcessTree: true);
            }

            try
            {
                Directory.Delete(options.Dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Process StartServer(Options options)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Driver).Assembly.Location);
        }

        foreach (var arg in options.ToServerArgs())
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start the serving process");
    }

    private static async Task<ServerInfo> WaitReadyAsync(Process server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (await server.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                return JsonSerializer.Deserialize<ServerInfo>(line.AsSpan(6))!;
            }
        }

        throw new InvalidOperationException($"the serving process exited ({(server.HasExited ? server.ExitCode : -1)}) before it was ready");
    }

    private static async Task<long> RunGrpcAsync(Uri address, TransportSecurity? security, ContentStore store, Digest digest, PieceLayout layout, int pieces, Options options, bool toStore, int windowBytes)
    {
        using var client = PieceFetch.CreateGrpcClient(address, security, windowBytes);
        using var target = toStore ? OpenTarget(store, digest, layout) : null;
        long moved = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, options.Parallel).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < pieces)
            {
                if (target is not null)
                {
                    await client.DownloadPieceAsync(target, index, expected: null, received: null, default);
                    Interlocked.Add(ref moved, layout.LengthOf(index));
                    continue;
                }

                Interlocked.Add(ref moved, await PieceFetch.GrpcToNullAsync(client, digest, index, default));
            }
        })));

        if (target is not null)
        {
            Check(target, pieces);
            target.Discard();
        }

        return moved;
    }

    private static PartialBlob OpenTarget(ContentStore store, Digest digest, PieceLayout layout) =>
        store.TryOpenPartial(digest, layout.Length, out var partial) == PartialOpenResult.Opened
            ? partial!
            : throw new InvalidOperationException($"the bench store could not open {digest} for writing");

    private static async Task<long> RunRawAsync(IPEndPoint endpoint, System.Net.Security.SslClientAuthenticationOptions? tls, ContentStore store, Digest digest, PieceLayout layout, int pieces, Options options, bool toStore)
    {
        using var target = toStore ? OpenTarget(store, digest, layout) : null;
        long moved = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, options.Parallel).Select(_ => Task.Run(async () =>
        {
            await using var connection = await RawProtocol.Connection.OpenAsync(endpoint, tls, default);
            var buffer = new byte[options.ChunkBytes];
            int index;
            while ((index = Interlocked.Increment(ref next)) < pieces)
            {
                var length = layout.LengthOf(index);
                if (target is not null)
                {
                    var writer = target.BeginPiece(index);
                    var hash = await connection.FetchAsync(index, length, buffer, data => writer.WriteAsync(data, default), default);
                    await writer.CompleteAsync(Digest.FromHash("sha256", hash), default);
                }
                else
                {
                    await connection.FetchAsync(index, length, buffer, static _ => ValueTask.CompletedTask, default);
                }

                Interlocked.Add(ref moved, length);
            }
        })));

        if (target is not null)
        {
            Check(target, pieces);
            target.Discard();
        }

        return moved;
    }

    private static void Check(PartialBlob target, int pieces)
    {
        for (var i = 0; i < pieces; i++)
        {
            if (!target.HasPiece(i))
            {
                throw new InvalidOperationException($"piece {i} is not present after the transfer");
            }
        }
    }

    private static void Print(List<Result> results, Options options, ServerInfo info, PieceLayout layout)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"piece transfer on loopback: {info.Length / (1 << 20)} MiB as {layout.PieceCount} pieces of {layout.PieceSize / (1 << 20)} MiB, chunk {options.ChunkBytes / 1024} KiB, {options.Parallel} pieces in flight, client window {options.WindowBytes / 1024} KiB, median of {options.Rounds} rounds, two processes, {Environment.ProcessorCount} cores, server GC {info.ServerGc}");
        text.AppendLine("sink null = client counts bytes; sink store = client writes each piece into a PartialBlob and verifies its sha256 (PeerClient / raw equivalent)");
        text.AppendLine("| transport | security | sink | MB/s | × raw (same security, sink) | CPU s/GB client | CPU s/GB server | CPU s/GB both |");
        text.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        var json = new List<Dictionary<string, object>>();
        foreach (var r in results)
        {
            var raw = results.First(x => x.Transport == "raw" && x.Security == r.Security && x.Sink == r.Sink);
            var ratio = r.MegabytesPerSecond / raw.MegabytesPerSecond;
            var gb = r.Bytes / 1e9;
            text.AppendLine(c, $"| {r.Transport} | {r.Security} | {r.Sink} | {r.MegabytesPerSecond:F0} | {ratio:F2} | {r.ClientCpu / gb:F2} | {r.ServerCpu / gb:F2} | {r.CpuPerGb:F2} |");
            json.Add(new Dictionary<string, object>
            {
                ["transport"] = r.Transport,
                ["security"] = r.Security,
                ["sink"] = r.Sink,
                ["mb_s"] = Math.Round(r.MegabytesPerSecond, 1),
                ["ratio_vs_raw"] = Math.Round(ratio, 3),
                ["cpu_s_per_gb"] = Math.Round(r.CpuPerGb, 3),
                ["client_cpu_s_per_gb"] = Math.Round(r.ClientCpu / gb, 3),
                ["server_cpu_s_per_gb"] = Math.Round(r.ServerCpu / gb, 3),
            });
        }

        Console.Write(text.ToString());
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["bench"] = "piece_transfer",
            ["bytes"] = info.Length,
            ["piece_bytes"] = layout.PieceSize,
            ["chunk_bytes"] = options.ChunkBytes,
            ["parallel"] = options.Parallel,
            ["rounds"] = options.Rounds,
            ["window_bytes"] = options.WindowBytes,
            ["cores"] = Environment.ProcessorCount,
            ["results"] = json,
        }));
    }
}
