using Grpc.Net.Client;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// One scheduler address the agent talks to: the configured one, or a replica a heartbeat answer named. Its own
/// HTTP/2 channel, the scheduler id it last answered with, and a skip window after a failure, so a replica that
/// is down costs one timeout, not one per blob.
/// </summary>
internal sealed class SchedulerReplica : IDisposable
{
    private readonly GrpcChannel _channel;
    private long _skipUntilTicks;

    public SchedulerReplica(string address, SchedulerClientOptions options, TransportSecurity security)
    {
        Address = address;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        security.ConfigureClient(handler);
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        Client = new Protocol.V1.Scheduler.SchedulerClient(_channel);
    }

    /// <summary>The URL as configured or as the scheduler listed it; the key the shard ranking uses.</summary>
    public string Address { get; }

    public Protocol.V1.Scheduler.SchedulerClient Client { get; }

    /// <summary>The id from its last answer; a change means it restarted and forgot everything.</summary>
    public string? SchedulerId { get; set; }

    /// <summary>Whether its last heartbeat was answered; false until the first one is.</summary>
    public bool Answered { get; set; }

    public bool IsSkipping(DateTimeOffset now) => now.UtcTicks < Interlocked.Read(ref _skipUntilTicks);

    /// <summary>Skips it until <paramref name="until"/>; true when this starts a new outage window (log it once).</summary>
    public bool SkipUntil(DateTimeOffset now, DateTimeOffset until) =>
        Interlocked.Exchange(ref _skipUntilTicks, until.UtcTicks) < now.UtcTicks;

    /// <summary>It answered: calls may use it again at once, not only when the skip window ends.</summary>
    public void Recovered() => Interlocked.Exchange(ref _skipUntilTicks, 0);

    public void Dispose() => _channel.Dispose();
}
