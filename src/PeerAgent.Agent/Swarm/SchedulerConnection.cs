using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Hosting;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Swarm;
using PeerAgent.Hosting.Tls;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Swarm;

/// <summary>What a heartbeat found.</summary>
internal enum HeartbeatResult
{
    Unreachable,
    Same,

    /// <summary>The scheduler answers with a new id: it restarted and knows nothing of this agent's blobs.</summary>
    Restarted,
}

/// <summary>
/// The agent's side of the scheduler: one HTTP/2 channel, this host's identity, heartbeats, and an Announce
/// stream per download. Any failure makes downloads skip the scheduler for a while (straight to the origin):
/// a pull never fails because the scheduler is down.
/// </summary>
internal sealed class SchedulerConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Protocol.V1.Scheduler.SchedulerClient _client;
    private readonly SchedulerClientOptions _options;
    private readonly PeerUploadLimits _uploads;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HostInfo _wireHost;
    private long _skipUntilTicks;

    public SchedulerConnection(
        IOptions<SchedulerClientOptions> schedulerOptions,
        IOptions<PeerOptions> peerOptions,
        IOptions<NodeOptions> nodeOptions,
        PeerUploadLimits uploads,
        TimeProvider time,
        TransportSecurity security,
        ILogger<SchedulerConnection> logger)
    {
        var (options, peer, node) = (schedulerOptions.Value, peerOptions.Value, nodeOptions.Value);
        _options = options;
        _uploads = uploads;
        _time = time;
        _logger = logger;
        Address = new Uri(options.IsEmbedded ? EmbeddedAddress(peer.ListenUrl) : options.Address);
        var advertise = AdvertiseUrl(peer);
        Host = new PeerHost(
            HostId: $"{node.ResolvedName}/{new Uri(advertise).Authority}",
            NodeName: node.ResolvedName,
            Zone: node.Zone,
            Region: node.Region,
            PeerAddress: advertise,
            UploadCapacity: peer.MaxConcurrentUploads);
        _wireHost = WireMapping.ToWire(Host);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        security.ConfigureClient(handler);
        _channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _client = new Protocol.V1.Scheduler.SchedulerClient(_channel);
    }

    public Uri Address { get; }

    /// <summary>This agent as the scheduler knows it.</summary>
    public PeerHost Host { get; }

    /// <summary>The scheduler id from the last heartbeat; a change means it restarted and forgot everything.</summary>
    public string? SchedulerId { get; private set; }

    /// <summary>
    /// Opens the Announce stream for one download and returns it with the scheduler's first decision, or null
    /// when the scheduler is unreachable, slow or refuses (the caller then fetches from the origin).
    /// </summary>
    public async Task<AnnounceSession?> TryOpenAsync(Digest task, long length, byte[] bitmap, CancellationToken cancellationToken)
    {
        if (IsSkipping)
        {
            SwarmMetrics.SchedulerSkipped.Inc();
            return null;
        }

        var streamCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse>? call = null;
        try
        {
            call = _client.Announce(cancellationToken: streamCts.Token);
            using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            first.CancelAfter(_options.ConnectTimeout);
            await call.RequestStream.WriteAsync(new AnnounceRequest
            {
                Register = new RegisterPeer { Host = _wireHost, TaskDigest = task.ToString(), ContentLength = length, Bitmap = ByteString.CopyFrom(bitmap) },
            }, first.Token);
            if (!await call.ResponseStream.MoveNext(first.Token))
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "the scheduler closed the stream without a decision"));
            }

            return new AnnounceSession(call, streamCts, call.ResponseStream.Current, task, _logger);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            call?.Dispose();
            streamCts.Dispose();
            Failed(ex);
            return null;
        }
        catch
        {
            call?.Dispose();
            streamCts.Dispose();
            throw;
        }
    }

    /// <summary>One heartbeat. <see cref="HeartbeatResult.Restarted"/>: the scheduler lost its state and this agent should re-announce its seeds.</summary>
    public async Task<HeartbeatResult> HeartbeatAsync(CancellationToken cancellationToken)
    {
        var stats = _uploads.Slots.GetStatistics();
        var inFlight = stats is null ? 0 : (int)Math.Max(0, Host.UploadCapacity - stats.CurrentAvailablePermits);
        try
        {
            var response = await _client.HeartbeatAsync(
                new HeartbeatRequest { Host = _wireHost, CurrentUploads = inFlight },
                deadline: _time.GetUtcNow().UtcDateTime + _options.ConnectTimeout,
                cancellationToken: cancellationToken);
            // It answers: downloads may ask it again at once, not only when the skip window after a failure ends.
            Interlocked.Exchange(ref _skipUntilTicks, 0);
            var previous = SchedulerId;
            if (previous == response.SchedulerId)
            {
                return HeartbeatResult.Same;
            }

            SwarmLog.SchedulerConnected(_logger, Address.ToString(), response.SchedulerId);
            SchedulerId = response.SchedulerId;
            return previous is null ? HeartbeatResult.Same : HeartbeatResult.Restarted;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Failed(ex);
            return HeartbeatResult.Unreachable;
        }
    }

    /// <summary>Tells the scheduler this agent holds the whole verified blob, so children can use it as a parent.</summary>
    public async Task<bool> AnnounceSeedAsync(Digest task, long length, CancellationToken cancellationToken)
    {
        if (IsSkipping)
        {
            return false; // it failed moments ago; the heartbeat that gets through again re-announces the seeds
        }

        try
        {
            using var call = _client.Announce(cancellationToken: cancellationToken);
            await call.RequestStream.WriteAsync(new AnnounceRequest
            {
                Register = new RegisterPeer { Host = _wireHost, TaskDigest = task.ToString(), ContentLength = length, Complete = true },
            }, cancellationToken);
            var answered = await call.ResponseStream.MoveNext(cancellationToken);
            await call.RequestStream.CompleteAsync();
            while (answered && await call.ResponseStream.MoveNext(cancellationToken))
            {
                // Drain until the scheduler ends the call, so closing is not taken for a broken stream.
            }

            return answered;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Failed(ex);
            return false;
        }
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>The scheduler failed moments ago: calls skip it until the window ends or a heartbeat gets through.</summary>
    private bool IsSkipping => _time.GetUtcNow().UtcTicks < Interlocked.Read(ref _skipUntilTicks);

    private void Failed(Exception ex)
    {
        var until = _time.GetUtcNow() + _options.RetryAfterFailure;
        var previous = Interlocked.Exchange(ref _skipUntilTicks, until.UtcTicks);
        SwarmMetrics.SchedulerFailures.Inc();
        if (previous < _time.GetUtcNow().UtcTicks)
        {
            // Once per outage window, not once per blob.
            SwarmLog.SchedulerUnavailable(_logger, Address.ToString(), ex.GetType().Name, ex.Message, _options.RetryAfterFailure);
        }
    }

    /// <summary>The embedded scheduler is served on the agent's own peer listener; reach it over loopback.</summary>
    internal static string EmbeddedAddress(string peerListenUrl)
    {
        ListenEndpoint.TryParse(peerListenUrl, allowHttps: true, out _, out var endpoint);
        var address = endpoint.Address is null || endpoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endpoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endpoint.Address;
        return new UriBuilder(SchemeOf(peerListenUrl), address.ToString(), endpoint.Port).Uri.ToString().TrimEnd('/');
    }

    /// <summary>Peer:AdvertiseUrl, else the listen URL when it names an address, else the first non-loopback IPv4 address.</summary>
    internal static string AdvertiseUrl(PeerOptions peer)
    {
        if (!string.IsNullOrWhiteSpace(peer.AdvertiseUrl))
        {
            return peer.AdvertiseUrl.TrimEnd('/');
        }

        ListenEndpoint.TryParse(peer.ListenUrl, allowHttps: true, out _, out var endpoint);
        var address = endpoint.Address;
        if (address is null || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            address = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
                ?? IPAddress.Loopback;
        }

        return new UriBuilder(SchemeOf(peer.ListenUrl), address.ToString(), endpoint.Port).Uri.ToString().TrimEnd('/');
    }

    /// <summary>The listen URL's scheme, which start-up checked against the TLS mode.</summary>
    private static string SchemeOf(string listenUrl) =>
        listenUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;
}
