using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>
/// The serving agent: one random blob committed to a store, served by the agent's own PeerService (h2c and mutual
/// TLS) and by the raw protocol (TCP and TLS) from the same store, all on 127.0.0.1. The console benchmark runs it
/// in a second process; the micro-benchmarks host it in theirs.
/// </summary>
internal sealed class PieceServer : IAsyncDisposable
{
    private readonly ContentStore _store;
    private readonly BlobReader _reader;
    private readonly TransportSecurity _security;
    private readonly WebApplication _app;
    private readonly TcpListener _raw;
    private readonly TcpListener _rawTls;
    private readonly CancellationTokenSource _stop;

    private PieceServer(ContentStore store, BlobReader reader, TransportSecurity security, WebApplication app, TcpListener raw, TcpListener rawTls, CancellationTokenSource stop, ServerInfo info)
    {
        _store = store;
        _reader = reader;
        _security = security;
        _app = app;
        _raw = raw;
        _rawTls = rawTls;
        _stop = stop;
        Info = info;
    }

    public ServerInfo Info { get; }

    /// <param name="storeDir">The serving store's root (created).</param>
    /// <param name="bytes">Length of the random blob.</param>
    /// <param name="chunkBytes">Bytes per gRPC message and per raw write.</param>
    /// <param name="tlsRoot">Where <see cref="BenchTls.Create"/> wrote both sides' certificates.</param>
    public static async Task<PieceServer> StartAsync(string storeDir, long bytes, int chunkBytes, string tlsRoot)
    {
        var store = new ContentStore(new ContentStoreOptions { RootPath = storeDir, QuotaBytes = 4L << 30 }, TimeProvider.System);
        await store.InitializeAsync(default);
        var content = GC.AllocateUninitializedArray<byte>((int)bytes);
        new Random(1234).NextBytes(content);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, default);
        content = null;
        GC.Collect();

        var layout = PieceLayout.For(bytes);
        if (!store.TryOpenRead(digest, out var reader))
        {
            throw new InvalidOperationException("the blob just committed cannot be opened");
        }

        var hashes = new byte[layout.PieceCount][];

        // Records the piece digests in the store, as a commit does in the agent.
        var pieceDigests = await new CommittedPieceDigests(store).GetAllAsync(reader, layout, default);
        for (var i = 0; i < layout.PieceCount; i++)
        {
            hashes[i] = pieceDigests.Slice(i * 32, 32).ToArray();
        }

        var security = BenchTls.Load(tlsRoot, BenchTls.Server);
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
        builder.Services.AddSingleton(new PeerTasks());
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new PeerOptions { ChunkBytes = chunkBytes, MaxConcurrentUploads = 64 }));
        builder.Services.AddPeerService();
        var app = builder.Build();
        app.MapPeerService();
        await app.StartAsync();
        var addresses = app.Urls.Select(u => new Uri(u)).ToList();

        var stop = new CancellationTokenSource();
        var raw = new TcpListener(IPAddress.Loopback, 0);
        var rawTls = new TcpListener(IPAddress.Loopback, 0);
        raw.Start();
        rawTls.Start();
        _ = RawProtocol.ServeAsync(raw, null, reader, layout, hashes, chunkBytes, stop.Token);
        _ = RawProtocol.ServeAsync(rawTls, security.Certificates, reader, layout, hashes, chunkBytes, stop.Token);

        var info = new ServerInfo(
            addresses.Single(u => u.Scheme == "http").Port,
            addresses.Single(u => u.Scheme == "https").Port,
            ((IPEndPoint)raw.LocalEndpoint).Port,
            ((IPEndPoint)rawTls.LocalEndpoint).Port,
            digest.ToString(),
            bytes,
            System.Runtime.GCSettings.IsServerGC);
        return new PieceServer(store, reader, security, app, raw, rawTls, stop, info);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _raw.Stop();
        _rawTls.Stop();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _reader.Dispose();
        _security.Dispose();
        _store.Dispose();
        _stop.Dispose();
    }
}
