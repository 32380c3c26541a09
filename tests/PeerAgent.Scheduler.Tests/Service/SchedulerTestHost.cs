using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduling.Hosting;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduling.Service;
using HostInfo = PeerAgent.Protocol.V1.HostInfo;
using WireScheduler = PeerAgent.Protocol.V1.Scheduler;

namespace PeerAgent.Scheduler.Tests.Service;

/// <summary>
/// The scheduler service on a real Kestrel (h2c on 127.0.0.1, port 0) with a fake clock that also drives the sweeper,
/// and a gRPC client. Error-level logs fail the test at dispose.
/// </summary>
internal sealed class SchedulerTestHost : IAsyncDisposable
{
    /// <summary>64 MiB: 16 pieces of 4 MiB.</summary>
    public const long Length = 64L * 1024 * 1024;

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static readonly Digest Blob = Digest.Compute("scheduler service test blob"u8);

    private readonly ErrorLogs _errors = new();
    private readonly RegistrationLogs _registrations = new();
    private WebApplication? _app;
    private GrpcChannel? _channel;

    private SchedulerTestHost(SchedulerOptions options)
    {
        Options = options;
    }

    public static int PieceCount => PieceLayout.For(Length).PieceCount;

    public SchedulerOptions Options { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public WireScheduler.SchedulerClient Client { get; private set; } = null!;

    public SwarmScheduler Scheduler { get; private set; } = null!;

    /// <summary>Each host registration the core logged (event 3001): host id, zone, region.</summary>
    public ConcurrentQueue<(string HostId, string Zone, string Region)> Registrations => _registrations.Entries;

    /// <param name="services">Swaps parts before the host is built, e.g. an <c>INodeTopology</c>.</param>
    public static async Task<SchedulerTestHost> StartAsync(Action<SchedulerOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var options = new SchedulerOptions();
        configure?.Invoke(options);
        var host = new SchedulerTestHost(options);
        await host.InitializeAsync(services);
        return host;
    }

    public static HostInfo HostInfo(string id, string zone = "z1") => new()
    {
        HostId = id,
        NodeName = "node-" + id,
        Zone = zone,
        Region = "r1",
        PeerAddress = $"http://{id}.test:65002",
        UploadCapacity = 4,
    };

    /// <summary>Opens an Announce stream for <paramref name="id"/> on the test blob and sends register.</summary>
    public async Task<PeerCall> RegisterAsync(string id, bool complete = false, long length = Length, string? digest = null)
    {
        var call = new PeerCall(Client.Announce(cancellationToken: new CancellationTokenSource(Deadline * 3).Token));
        await call.SendAsync(new AnnounceRequest
        {
            Register = new RegisterPeer
            {
                Host = HostInfo(id),
                TaskDigest = digest ?? Blob.ToString(),
                ContentLength = length,
                Complete = complete,
            },
        });
        return call;
    }

    public async Task<HeartbeatResponse> HeartbeatAsync(string id, int currentUploads = 0)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        return await Client.HeartbeatAsync(new HeartbeatRequest { Host = HostInfo(id), CurrentUploads = currentUploads }, cancellationToken: deadline.Token);
    }

    /// <summary>Polls the scheduler's state (the service applies reports asynchronously) until the condition holds.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string because)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException("timed out waiting until " + because);
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Sends <paramref name="body"/> as the request message bytes of <paramref name="method"/>; the status the call ends with.</summary>
    public async Task<Status> CallRawAsync(string method, byte[] body)
    {
        var raw = Marshallers.Create(static (byte[] bytes) => bytes, static bytes => bytes);
        var invoker = _channel!.CreateCallInvoker();
        using var timeout = new CancellationTokenSource(Deadline);
        var options = new CallOptions(cancellationToken: timeout.Token);
        try
        {
            if (method == nameof(WireScheduler.SchedulerClient.Heartbeat))
            {
                await invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, WireScheduler.Descriptor.FullName, method, raw, raw), null, options, body);
                return Status.DefaultSuccess;
            }

            using var call = invoker.AsyncDuplexStreamingCall(new Method<byte[], byte[]>(MethodType.DuplexStreaming, WireScheduler.Descriptor.FullName, method, raw, raw), null, options);
            await call.RequestStream.WriteAsync(body);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }

            return call.GetStatus();
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _errors.Entries.Should().BeEmpty("the scheduler logged no errors");
    }

    private async Task InitializeAsync(Action<IServiceCollection>? services)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(_errors);
        builder.Logging.AddProvider(_registrations);
        builder.Logging.AddFilter<RegistrationLogs>(typeof(SwarmScheduler).FullName, LogLevel.Debug);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton<TimeProvider>(Time);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(Options));
        services?.Invoke(builder.Services);
        builder.Services.AddPeerAgentScheduler();
        _app = builder.Build();
        _app.MapPeerAgentScheduler();
        await _app.StartAsync();
        Scheduler = _app.Services.GetRequiredService<SwarmScheduler>();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _channel = GrpcChannel.ForAddress(address);
        Client = new WireScheduler.SchedulerClient(_channel);
    }

    /// <summary>Collects Error and Critical entries.</summary>
    private sealed class ErrorLogs : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Entries.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
            }
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>Keeps the core's host registrations (event 3001) with their zone and region.</summary>
internal sealed class RegistrationLogs : ILoggerProvider, ILogger
{
    public ConcurrentQueue<(string HostId, string Zone, string Region)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == 3001 && state is IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            var values = fields.ToDictionary(f => f.Key, f => f.Value?.ToString() ?? "");
            Entries.Enqueue((values["HostId"], values["Zone"], values["Region"]));
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>One agent's Announce stream, with a deadline on every read.</summary>
internal sealed class PeerCall : IDisposable
{
    public PeerCall(AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse> call)
    {
        Call = call;
    }

    public AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse> Call { get; }

    public Task SendAsync(AnnounceRequest request) => Call.RequestStream.WriteAsync(request);

    /// <summary>The next decision; fails the test if none arrives within the deadline.</summary>
    public async Task<AnnounceResponse> NextAsync()
    {
        var read = Call.ResponseStream.MoveNext(CancellationToken.None);
        var winner = await Task.WhenAny(read, Task.Delay(SchedulerTestHost.Deadline));
        winner.Should().BeSameAs(read, "a decision should arrive within {0}", SchedulerTestHost.Deadline);
        (await read).Should().BeTrue("the scheduler should not end the stream");
        return Call.ResponseStream.Current;
    }

    /// <summary>Ends the request stream gracefully and waits for the server to end the call.</summary>
    public async Task CompleteAsync()
    {
        await Call.RequestStream.CompleteAsync();
        while (await Call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
    }

    public void Dispose() => Call.Dispose();
}
