using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>A real Kestrel (h2c on 127.0.0.1, port 0) serving the peer service from its own store, plus a client store.</summary>
internal sealed class PeerTestHost : IAsyncDisposable
{
    private readonly TempDir _dir = new("peer");
    private WebApplication? _app;

    public ContentStore ServerStore { get; private set; } = null!;
    public ContentStore ClientStore { get; private set; } = null!;
    public PeerTasks Tasks { get; } = new();
    public CapturedLogs Logs { get; } = new();
    public Uri Address { get; private set; } = null!;

    public static async Task<PeerTestHost> StartAsync(PeerOptions? options = null)
    {
        var host = new PeerTestHost();
        await host.InitializeAsync(options ?? new PeerOptions { ChunkBytes = 64 * 1024 });
        return host;
    }

    public PeerClient NewClient() => new(Address);

    /// <summary>Commits <paramref name="content"/> into the server's store and returns its digest.</summary>
    public async Task<Digest> CommitOnServerAsync(byte[] content)
    {
        var digest = Digest.Compute(content);
        await ServerStore.PutAsync(digest, content, default);
        return digest;
    }

    /// <summary>Path of a committed blob's file in the server's store (to corrupt it behind the store's back).</summary>
    public string ServerBlobPath(Digest digest) => Path.Combine(ServerStore.RootPath, "blobs", digest.Algorithm, digest.Hex);

    public static byte[] PieceBytes(byte[] content, int index, int pieceSize) =>
        content.AsSpan(index * pieceSize, Math.Min(pieceSize, content.Length - (index * pieceSize))).ToArray();

    public static Digest PieceDigest(byte[] content, int index, int pieceSize) => Digest.Compute(PieceBytes(content, index, pieceSize));

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        ServerStore?.Dispose();
        ClientStore?.Dispose();
        _dir.Dispose();
    }

    private async Task InitializeAsync(PeerOptions options)
    {
        ServerStore = new ContentStore(new ContentStoreOptions { RootPath = _dir.Sub("server") }, TimeProvider.System);
        await ServerStore.InitializeAsync(default);
        ClientStore = new ContentStore(new ContentStoreOptions { RootPath = _dir.Sub("client") }, TimeProvider.System);
        await ClientStore.InitializeAsync(default);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Logs);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(ServerStore);
        builder.Services.AddSingleton(Tasks);
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddPeerService();
        _app = builder.Build();
        _app.MapPeerService();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(address);
    }
}

/// <summary>Random test content.</summary>
internal static class TestContent
{
    public static byte[] Random(int length) => RandomNumberGenerator.GetBytes(length);
}
