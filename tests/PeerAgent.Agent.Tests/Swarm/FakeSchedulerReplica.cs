using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Swarm;

/// <summary>
/// A scripted scheduler on 127.0.0.1 (h2c): heartbeats answer with a fixed id and the replica list the test sets;
/// every Announce registration is recorded and answered with a wait decision, and the stream stays open until the
/// agent ends it or the replica is stopped (which breaks it, as a killed process would).
/// </summary>
internal sealed class FakeSchedulerReplica : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Service _service;

    private FakeSchedulerReplica(WebApplication app, Service service, string address)
    {
        _app = app;
        _service = service;
        Address = address;
    }

    public string Address { get; }

    /// <summary>What heartbeat answers list as the replicas.</summary>
    public IReadOnlyList<string> Shards
    {
        get => _service.Shards;
        set => _service.Shards = value;
    }

    public IReadOnlyCollection<RegisterPeer> Registrations => _service.Registrations;

    public int Heartbeats => Volatile.Read(ref _service.HeartbeatCount);

    /// <summary>When set, heartbeats are held until the call is cancelled (a scheduler that stopped answering).</summary>
    public bool HoldHeartbeats
    {
        get => _service.Hold;
        set => _service.Hold = value;
    }

    public static async Task<FakeSchedulerReplica> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var service = new Service();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new FakeSchedulerReplica(app, service, address.TrimEnd('/'));
    }

    /// <summary>Stops serving and breaks every open stream.</summary>
    public async Task StopAsync()
    {
        await _service.Stopping.CancelAsync();
        await _app.StopAsync(new CancellationToken(canceled: true));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Service : Protocol.V1.Scheduler.SchedulerBase
    {
        public int HeartbeatCount;

        public volatile bool Hold;

        public CancellationTokenSource Stopping { get; } = new();

        public IReadOnlyList<string> Shards { get; set; } = [];

        public ConcurrentQueue<RegisterPeer> Registrations { get; } = new();

        public override async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref HeartbeatCount);
            if (Hold)
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            var response = new HeartbeatResponse { SchedulerId = "fake" };
            response.Shards.AddRange(Shards);
            return response;
        }

        public override async Task Announce(IAsyncStreamReader<AnnounceRequest> requestStream, IServerStreamWriter<AnnounceResponse> responseStream, ServerCallContext context)
        {
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, Stopping.Token);
            if (!await requestStream.MoveNext(ended.Token))
            {
                return;
            }

            Registrations.Enqueue(requestStream.Current.Register);
            await responseStream.WriteAsync(new AnnounceResponse { Wait = new WaitDecision { RetryAfterMs = 10_000 } }, ended.Token);
            if (requestStream.Current.Register.Complete)
            {
                return;
            }

            while (await requestStream.MoveNext(ended.Token))
            {
                // Reports are not scripted; the stream stays open until the agent or the test ends it.
            }
        }
    }
}
