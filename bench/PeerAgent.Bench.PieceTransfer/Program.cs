using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Peers;
using PeerAgent.Bench.PieceTransfer;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

// Piece transfer benchmark: the peer gRPC data path against a raw socket, h2c vs TCP and TLS vs TLS, in one run.
// TLS is mutual on both transports, with the agent's own certificate handling (BenchTls).
// The driver (this process) is the downloading agent; it starts a second process, the serving agent, so each
// side's CPU time is its own process's. Both listen on 127.0.0.1 only.
return args.Length > 0 && args[0] == "serve"
    ? await Server.RunAsync(Options.Parse(args.AsSpan(1)))
    : await Driver.RunAsync(Options.Parse(args));

internal sealed record Options(long Bytes, int ChunkBytes, int Parallel, string Sink, string Dir, int WindowBytes, int Rounds, string? TlsDir = null)
{
    public static Options Parse(ReadOnlySpan<string> args)
    {
        long bytes = 1L << 30;
        var chunk = 1 << 20;
        var parallel = 2;
        var rounds = 3;
        var sink = "both";
        var window = PeerClient.StreamWindowBytes;
        var dir = Path.Combine(Path.GetTempPath(), "peeragent-bench-piece-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        string? tls = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--bytes": bytes = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--parallel": parallel = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sink": sink = value; break;
                case "--dir": dir = value; break;
                case "--window": window = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--tls": tls = value; break;
                default: throw new ArgumentException($"unknown option {args[i]} (known: --bytes --chunk --parallel --sink store|null|both --window --rounds --dir)");
            }
        }

        if (bytes is < 1 or > (1L << 31) - (1L << 20) || chunk is < PeerOptions.MinChunkBytes or > PeerOptions.MaxChunkBytes || parallel is < 1 or > 64 || rounds is < 1 or > 20 || sink is not ("store" or "null" or "both"))
        {
            throw new ArgumentException("--bytes 1..2 GiB-1 MiB, --chunk 16 KiB..4 MiB, --parallel 1..64, --rounds 1..20, --sink store|null|both");
        }

        return new Options(bytes, chunk, parallel, sink, dir, window, rounds, tls);
    }

    /// <summary>Where the driver writes the certificates of both sides.</summary>
    public string TlsRoot => TlsDir ?? Path.Combine(Dir, "tls");

    public string[] ToServerArgs() =>
        ["serve", "--bytes", Bytes.ToString(CultureInfo.InvariantCulture), "--chunk", ChunkBytes.ToString(CultureInfo.InvariantCulture), "--dir", Path.Combine(Dir, "server"), "--tls", TlsRoot];
}

internal sealed record ServerInfo(int H2c, int Tls, int Raw, int RawTls, string Digest, long Length, bool ServerGc);

internal static class Server
{
    public static async Task<int> RunAsync(Options options)
    {
        using var store = new ContentStore(new ContentStoreOptions { RootPath = options.Dir, QuotaBytes = 4L << 30 }, TimeProvider.System);
        await store.InitializeAsync(default);
        var content = GC.AllocateUninitializedArray<byte>((int)options.Bytes);
        new Random(1234).NextBytes(content);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, default);
        content = null;
        GC.Collect();

        var layout = PieceLayout.For(options.Bytes);
        var tasks = new PeerTasks();
        if (!store.TryOpenRead(digest, out var reader))
        {
            throw new InvalidOperationException("the blob just committed cannot be opened");
        }
        var hashes = new byte[layout.PieceCount][];

        // Records the piece digests in the store, as a commit does in the agent.
        var pieceDigests = await new CommittedPieceDigests(store).GetAllAsync(reader!, layout, default);
        for (var i = 0; i < layout.PieceCount; i++)
        {
            hashes[i] = pieceDigests.Slice(i * 32, 32).ToArray();
        }

        using var security = BenchTls.Load(options.TlsRoot, BenchTls.Server);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                security.ConfigureListener(listen);
            });
        });
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(tasks);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new PeerOptions { ChunkBytes = options.ChunkBytes, MaxConcurrentUploads = 64 }));
        builder.Services.AddPeerService();
        await using var app = builder.Build();
        app.MapPeerService();
        await app.StartAsync();
        var addresses = app.Urls.Select(u => new Uri(u)).ToList();

        using var cts = new CancellationTokenSource();
        var raw = new TcpListener(IPAddress.Loopback, 0);
        var rawTls = new TcpListener(IPAddress.Loopback, 0);
        raw.Start();
        rawTls.Start();
        _ = RawProtocol.ServeAsync(raw, null, reader!, layout, hashes, options.ChunkBytes, cts.Token);
        _ = RawProtocol.ServeAsync(rawTls, security.Certificates, reader!, layout, hashes, options.ChunkBytes, cts.Token);

        var info = new ServerInfo(
            addresses.Single(u => u.Scheme == "http").Port,
            addresses.Single(u => u.Scheme == "https").Port,
            ((IPEndPoint)raw.LocalEndpoint).Port,
            ((IPEndPoint)rawTls.LocalEndpoint).Port,
            digest.ToString(),
            options.Bytes,
            System.Runtime.GCSettings.IsServerGC);
        Console.WriteLine("READY " + JsonSerializer.Serialize(info));

        // Runs until the driver closes our stdin (also when the driver dies).
        await Console.In.ReadToEndAsync();
        await cts.CancelAsync();
        raw.Stop();
        rawTls.Stop();
        await app.StopAsync();
        reader!.Dispose();
        return 0;
    }
}
