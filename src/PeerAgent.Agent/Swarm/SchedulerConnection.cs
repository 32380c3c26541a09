using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
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

/// <summary>
/// What a download tells a scheduler when it registers: the pieces it holds, and whether it is reading the origin
/// (on a grant from a replica that went away, so the new owner gives it the slot back).
/// </summary>
internal readonly record struct DownloadState(byte[] Bitmap, bool FromSource);

/// <summary>One Announce stream and the scheduler address it is open on.</summary>
internal readonly record struct OpenedSession(AnnounceSession Session, SchedulerReplica Replica);

/// <summary>
/// What one heartbeat round found. <see cref="Live"/> are the scheduler addresses that answered, in the order blobs
/// are ranked over (the replicas when sharded, else the configured address); <see cref="Restarted"/> are those that
/// answered with a new scheduler id and so forgot every seed.
/// </summary>
internal sealed record HeartbeatRound(IReadOnlyList<string> Live, bool Sharded, IReadOnlySet<string> Restarted)
{
    /// <summary>Where a blob's announcements go under this view; null when no scheduler answered.</summary>
    public string? OwnerOf(Digest task) =>
        Live.Count == 0 ? null : Sharded ? ShardRing.Owner(task.ToString(), Live) : Live[0];
}

/// <summary>
/// The agent's side of the scheduler: this host's identity, heartbeats, and an Announce stream per download. With
/// one scheduler, everything goes to <see cref="SchedulerClientOptions.Address"/>. When its heartbeat answer lists
/// replicas (<c>shards</c>), the agent heartbeats each of them and sends each blob to its owner
/// (<see cref="ShardRing"/>), or to the next replica in the blob's ranking while the owner fails. Any failure makes
/// downloads skip that scheduler for a while (straight to the origin when none is left): a pull never fails because
/// the scheduler is down.
/// </summary>
internal sealed class SchedulerConnection : IDisposable
{
    /// <summary>Replicas one call tries before it gives up and the blob comes from the origin.</summary>
    internal const int MaxAttempts = 3;

    private readonly SchedulerClientOptions _options;
    private readonly PeerUploadLimits _uploads;
    private readonly TimeProvider _time;
    private readonly TransportSecurity _security;
    private readonly ILogger _logger;
    private readonly HostInfo _wireHost;
    // The configured scheduler (a Service in Kubernetes): the first contact, and the fallback when no replica answers.
    private readonly SchedulerReplica _configured;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SchedulerReplica> _replicas = new(StringComparer.Ordinal);
    private volatile string[] _shards = [];

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
        _security = security;
        _logger = logger;
        var advertise = AdvertiseUrl(peer);
        Host = new PeerHost(
            HostId: $"{node.ResolvedName}/{new Uri(advertise).Authority}",
            NodeName: node.ResolvedName,
            Zone: node.Zone,
            Region: node.Region,
            PeerAddress: advertise,
            UploadCapacity: peer.MaxConcurrentUploads);
        _wireHost = WireMapping.ToWire(Host);
        var configured = new Uri(options.IsEmbedded ? EmbeddedAddress(peer.ListenUrl) : options.Address);
        _configured = new SchedulerReplica(configured.ToString().TrimEnd('/'), options, security);
    }

    /// <summary>This agent as the scheduler knows it.</summary>
    public PeerHost Host { get; }

    /// <summary>The replicas the last answer listed; empty when the scheduler is not sharded.</summary>
    public IReadOnlyList<string> Shards => _shards;

    /// <summary>
    /// Opens the Announce stream for one download on the blob's owner (the next replica in its ranking if the owner
    /// fails) and returns it with the first decision, or null when no scheduler answers in time (the caller then
    /// fetches from the origin). The session moves itself to the next replica if its stream breaks;
    /// <paramref name="state"/> gives the download's state at that moment, for the new owner.
    /// </summary>
    public async Task<SchedulerSession?> TryOpenAsync(Digest task, long length, Func<DownloadState> state, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(task, length, state(), exclude: null, cancellationToken);
        return opened is { } first ? new SchedulerSession(this, task, length, state, first.Session, first.Replica, _time, _logger) : null;
    }

    /// <summary>One Announce stream on the first replica of <paramref name="task"/>'s ranking that answers, skipping <paramref name="exclude"/>.</summary>
    /// <remarks>A <paramref name="moved"/> registration tells the new owner the download comes from a replica that went away.</remarks>
    internal async Task<OpenedSession?> OpenAsync(
        Digest task, long length, DownloadState state, SchedulerReplica? exclude, CancellationToken cancellationToken, bool moved = false)
    {
        var candidates = Candidates(task, exclude);
        if (candidates.Count == 0)
        {
            SwarmMetrics.SchedulerSkipped.Inc();
            return null;
        }

        foreach (var replica in candidates)
        {
            var streamCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse>? call = null;
            try
            {
                call = replica.Client.Announce(cancellationToken: streamCts.Token);
                using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                first.CancelAfter(_options.ConnectTimeout);
                await call.RequestStream.WriteAsync(new AnnounceRequest
                {
                    Register = new RegisterPeer
                    {
                        Host = _wireHost,
                        TaskDigest = task.ToString(),
                        ContentLength = length,
                        Bitmap = ByteString.CopyFrom(state.Bitmap),
                        FromSource = state.FromSource,
                        Moved = moved,
                    },
                }, first.Token);
                if (!await call.ResponseStream.MoveNext(first.Token))
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "the scheduler closed the stream without a decision"));
                }

                return new OpenedSession(new AnnounceSession(call, streamCts, call.ResponseStream.Current, task, _logger), replica);
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                call?.Dispose();
                streamCts.Dispose();
                Failed(replica, ex);
            }
            catch
            {
                call?.Dispose();
                streamCts.Dispose();
                throw;
            }
        }

        return null;
    }

    /// <summary>
    /// Heartbeats every replica (or the configured scheduler when there are none, or when no replica answers) and
    /// takes the replica list from the answers.
    /// </summary>
    public async Task<HeartbeatRound> HeartbeatAsync(CancellationToken cancellationToken)
    {
        var stats = _uploads.Slots.GetStatistics();
        var inFlight = stats is null ? 0 : (int)Math.Max(0, Host.UploadCapacity - stats.CurrentAvailablePermits);
        var request = new HeartbeatRequest { Host = _wireHost, CurrentUploads = inFlight };
        var shards = _shards;
        var targets = shards.Length == 0 ? [_configured] : shards.Select(Replica).ToArray();
        var answers = await Task.WhenAll(targets.Select(t => HeartbeatAsync(t, request, cancellationToken)));
        if (shards.Length > 0 && answers.All(a => a.Response is null))
        {
            // Every replica is gone from where we knew it: ask the Service again for where they are now.
            answers = [await HeartbeatAsync(_configured, request, cancellationToken)];
        }

        // Any answer knows the replicas; they agree but for moments while a replica comes or goes.
        var listed = answers.FirstOrDefault(a => a.Response is not null).Response?.Shards;
        if (listed is not null)
        {
            UpdateShards([.. listed]);
        }

        var sharded = _shards.Length > 0;
        var restarted = answers.Where(a => a.Restarted).Select(a => a.Replica.Address).ToHashSet(StringComparer.Ordinal);
        var live = sharded
            ? _shards.Where(address => Replica(address) is { Answered: true } r && !r.IsSkipping(_time.GetUtcNow())).ToList()
            : _configured.Answered ? [_configured.Address] : [];
        return new HeartbeatRound(live, sharded, restarted);
    }

    /// <summary>Tells the blob's owner this agent holds the whole verified blob, so children can use it as a parent.</summary>
    public async Task<bool> AnnounceSeedAsync(Digest task, long length, CancellationToken cancellationToken)
    {
        foreach (var replica in Candidates(task, exclude: null))
        {
            try
            {
                using var call = replica.Client.Announce(cancellationToken: cancellationToken);
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
                Failed(replica, ex);
            }
        }

        // None answers; the heartbeat that gets through again re-announces the seeds.
        return false;
    }

    public void Dispose()
    {
        _configured.Dispose();
        lock (_lock)
        {
            foreach (var replica in _replicas.Values)
            {
                replica.Dispose();
            }

            _replicas.Clear();
        }
    }

    /// <summary>The scheduler failed moments ago: calls skip it until the window ends or a heartbeat gets through.</summary>
    internal void Failed(SchedulerReplica replica, Exception ex)
    {
        var now = _time.GetUtcNow();
        SwarmMetrics.SchedulerFailures.Inc();
        if (replica.SkipUntil(now, now + _options.RetryAfterFailure))
        {
            // Once per outage window, not once per blob.
            SwarmLog.SchedulerUnavailable(_logger, replica.Address, ex.GetType().Name, ex.Message, _options.RetryAfterFailure);
        }
    }

    /// <summary>Where <paramref name="task"/> may go now, best first: its ranking over the replicas that are not being skipped.</summary>
    private List<SchedulerReplica> Candidates(Digest task, SchedulerReplica? exclude)
    {
        var now = _time.GetUtcNow();
        var shards = _shards;
        IEnumerable<SchedulerReplica> ranked = shards.Length == 0 ? [_configured] : ShardRing.Rank(task.ToString(), shards).Select(Replica);
        return [.. ranked.Where(r => r != exclude && !r.IsSkipping(now)).Take(MaxAttempts)];
    }

    private async Task<(SchedulerReplica Replica, HeartbeatResponse? Response, bool Restarted)> HeartbeatAsync(
        SchedulerReplica replica, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await replica.Client.HeartbeatAsync(
                request,
                deadline: _time.GetUtcNow().UtcDateTime + _options.ConnectTimeout,
                cancellationToken: cancellationToken);
            replica.Recovered();
            replica.Answered = true;
            var previous = replica.SchedulerId;
            if (previous == response.SchedulerId)
            {
                return (replica, response, false);
            }

            SwarmLog.SchedulerConnected(_logger, replica.Address, response.SchedulerId);
            replica.SchedulerId = response.SchedulerId;
            return (replica, response, previous is not null);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            replica.Answered = false;
            Failed(replica, ex);
            return (replica, null, false);
        }
    }

    private void UpdateShards(string[] listed)
    {
        Array.Sort(listed, StringComparer.Ordinal);
        var current = _shards;
        if (current.AsSpan().SequenceEqual(listed))
        {
            return;
        }

        lock (_lock)
        {
            foreach (var gone in _replicas.Keys.Except(listed, StringComparer.Ordinal).ToList())
            {
                _replicas.Remove(gone, out var replica);
                replica!.Dispose();
            }

            _shards = listed;
        }

        SwarmMetrics.SchedulerReplicas.Set(listed.Length);
        SwarmLog.ShardsChanged(_logger, listed.Length, string.Join(", ", listed));
    }

    private SchedulerReplica Replica(string address)
    {
        lock (_lock)
        {
            if (!_replicas.TryGetValue(address, out var replica))
            {
                replica = new SchedulerReplica(address, _options, _security);
                _replicas.Add(address, replica);
            }

            return replica;
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
