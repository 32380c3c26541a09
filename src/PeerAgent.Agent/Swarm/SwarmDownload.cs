using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// Fills one blob's partial file from the swarm: pieces from the parents the scheduler names (rarest first among
/// what they hold, a bounded number in flight, each verified), and from the origin by HTTP Range when the
/// scheduler grants back-to-source. Whatever goes wrong in P2P ends in the origin: no scheduler, a broken
/// Announce stream, parents that die, stall or serve wrong bytes. Never fails a pull that the origin could serve.
/// </summary>
/// <remarks>
/// One control loop applies the scheduler's decisions, watches for stalls and starts the origin fetch; peer
/// workers pick pieces on their own. Shared state sits behind <see cref="_lock"/>; <see cref="PieceClaims"/>
/// keeps the origin fetch and the workers off each other's pieces.
/// </remarks>
internal sealed class SwarmDownload
{
    /// <summary>Most pieces one parent serves this download at once.</summary>
    private const int MaxInFlightPerParent = 2;

    /// <summary>Failures (slow or refused pieces) after which a parent is dropped; wrong bytes drop it at once.</summary>
    private const int ParentFailureLimit = 2;

    private static readonly TimeSpan LoopInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinRescheduleInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan BusyBackoff = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly BlobDownload _download;
    private readonly PartialBlob _partial;
    private readonly PieceLayout _layout;
    private readonly PieceClaims _claims;
    private readonly AsyncPulse _changed = new();
    private readonly Dictionary<string, Parent> _parents = new(StringComparer.Ordinal);
    private readonly List<Parent> _retired = [];
    private readonly Digest?[] _expected;
    private readonly PeerClients _clients;
    private readonly PeerTasks _tasks;
    private readonly PeerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OriginFetch _origin;
    private readonly string _self;

    private AnnounceSession? _session;
    private Task? _originTask;
    private CancellationTokenSource? _originCts;
    private bool _originGranted;
    private long _lastProgress;
    private long _rescheduleAt = long.MaxValue;
    private long _lastReschedule;
    private long _peerBytes;
    private int _piecesFromPeers;

    public SwarmDownload(
        BlobDownload download,
        PartialBlob partial,
        OriginRangeOpener openOrigin,
        PeerClients clients,
        PeerTasks tasks,
        PeerOptions options,
        string selfHostId,
        int maxResumes,
        TimeSpan bodyIdleTimeout,
        TimeProvider time,
        ILogger logger)
    {
        _download = download;
        _partial = partial;
        _layout = partial.Layout;
        _claims = new PieceClaims(_layout.PieceCount);
        _expected = new Digest?[_layout.PieceCount];
        _clients = clients;
        _tasks = tasks;
        _options = options;
        _self = selfHostId;
        _time = time;
        _logger = logger;
        _origin = new OriginFetch(download, partial, _claims, openOrigin, (index, digest) => Stored(index, digest, fromPeer: false), _changed, maxResumes, bodyIdleTimeout, time, logger);
    }

    private Digest BlobDigest => _partial.Digest;

    /// <summary>
    /// Stores every piece. <paramref name="session"/> is the open Announce stream with the first decision queued,
    /// or null to go straight to the origin (<paramref name="noSchedulerReason"/> says why, for the metric).
    /// </summary>
    public async Task FillAsync(AnnounceSession? session, string noSchedulerReason, CancellationToken cancellationToken)
    {
        _session = session;
        _lastProgress = _time.GetTimestamp();
        using var workersCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = new Task[_options.MaxPiecesInFlight];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = PeerWorkerAsync(workersCts.Token);
        }

        try
        {
            if (session is null)
            {
                SwarmMetrics.OriginFallbacks.WithLabels(noSchedulerReason).Inc();
                StartOrigin(0, _layout.PieceCount, granted: false, cancellationToken);
            }

            Task<bool>? decisionWait = null;
            while (!_partial.IsComplete)
            {
                cancellationToken.ThrowIfCancellationRequested();
                while (session is not null && session.Decisions.TryRead(out var decision))
                {
                    Apply(decision, cancellationToken);
                }

                if (_originTask is { IsFaulted: true } failed)
                {
                    await failed; // the origin could not serve the blob: nothing else can be trusted to
                }

                CheckStall(cancellationToken);
                if (session is not null && !session.IsBroken)
                {
                    decisionWait ??= session.Decisions.WaitToReadAsync(cancellationToken).AsTask();
                }

                var pulse = _changed.WaitAsync(LoopInterval, _time, cancellationToken);
                await Task.WhenAny(pulse, decisionWait ?? pulse);
                if (decisionWait is { IsCompleted: true })
                {
                    decisionWait = null;
                }
            }
        }
        finally
        {
            await workersCts.CancelAsync();
            if (_originCts is not null)
            {
                await _originCts.CancelAsync();
            }

            await WhenAllQuietly(workers);
            if (_originTask is not null)
            {
                await WhenAllQuietly([_originTask]);
            }

            await StopParentsAsync();
            _originCts?.Dispose();
        }

        SwarmLog.Completed(_logger, BlobDigest.ToString(), Interlocked.Read(ref _peerBytes), _origin.StoredBytes);
        var source = _piecesFromPeers == 0 ? "origin" : _piecesFromPeers == _layout.PieceCount ? "peers" : "mixed";
        SwarmMetrics.Downloads.WithLabels(source).Inc();
    }

    /// <summary>Whether any stored piece came from a peer (a whole-blob mismatch then distrusts the swarm for this blob).</summary>
    public bool UsedPeers => Volatile.Read(ref _piecesFromPeers) > 0;

    private void Apply(AnnounceResponse decision, CancellationToken cancellationToken)
    {
        SwarmLog.Decision(_logger, BlobDigest.ToString(), decision.KindCase.ToString());
        switch (decision.KindCase)
        {
            case AnnounceResponse.KindOneofCase.Parents:
                SetExpected(decision.Parents.PieceSha256);
                AddParents(decision.Parents.Parents, cancellationToken);
                if (_originGranted && _originTask is { IsCompleted: false })
                {
                    // The scheduler gave our back-to-source slot away (we stalled): leave the origin to the new holder.
                    SwarmLog.BackToSourceRevoked(_logger, BlobDigest.ToString());
                    _originCts?.Cancel();
                    _originGranted = false;
                }

                break;
            case AnnounceResponse.KindOneofCase.BackToSource:
                var grant = decision.BackToSource;
                AddParents(grant.Parents, cancellationToken);
                var start = Math.Clamp(grant.PieceStart, 0, _layout.PieceCount);
                var end = Math.Clamp(grant.PieceEnd, start, _layout.PieceCount);
                if (end == start)
                {
                    (start, end) = (0, _layout.PieceCount);
                }

                StartOrigin(start, end, granted: true, cancellationToken);
                break;
            case AnnounceResponse.KindOneofCase.Wait:
                var after = TimeSpan.FromMilliseconds(Math.Clamp(decision.Wait.RetryAfterMs, 50, 10_000));
                _rescheduleAt = _time.GetTimestamp() + (long)(after.TotalSeconds * _time.TimestampFrequency);
                break;
            default:
                break; // Finished: nothing to do; the loop ends when the pieces are here.
        }

        _changed.Pulse();
    }

    private void CheckStall(CancellationToken cancellationToken)
    {
        if (_originTask is { IsCompleted: false })
        {
            return;
        }

        var now = _time.GetTimestamp();
        var session = _session;
        bool anyUseful;
        lock (_lock)
        {
            anyUseful = _parents.Values.Any(p => !p.Dead && (p.Have is null || HasUsefulLocked(p)));
        }

        if (session is null || session.IsBroken)
        {
            if (!anyUseful)
            {
                // No scheduler to ask and no parent with anything we lack: the origin it is.
                SwarmMetrics.OriginFallbacks.WithLabels("no_scheduler").Inc();
                StartOrigin(0, _layout.PieceCount, granted: false, cancellationToken);
                return;
            }
        }
        else if (now >= _rescheduleAt || (!anyUseful && _time.GetElapsedTime(_lastReschedule, now) >= MinRescheduleInterval))
        {
            _rescheduleAt = long.MaxValue;
            _lastReschedule = now;
            session.Reschedule();
        }

        var stalled = _time.GetElapsedTime(Volatile.Read(ref _lastProgress), now);
        if (stalled >= _options.StallTimeout)
        {
            SwarmLog.FallingBackToOrigin(_logger, BlobDigest.ToString(), stalled, _layout.PieceCount - _partial.PresentPieceCount);
            SwarmMetrics.OriginFallbacks.WithLabels("stall").Inc();
            StartOrigin(0, _layout.PieceCount, granted: false, cancellationToken);
        }
    }

    private void StartOrigin(int start, int end, bool granted, CancellationToken cancellationToken)
    {
        if (_originTask is { IsCompleted: false })
        {
            return;
        }

        _originCts?.Dispose();
        _originCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _originGranted = granted;
        var token = _originCts.Token;
        _originTask = Task.Run(() => _origin.RunAsync(start, end, first: null, token), CancellationToken.None);
    }

    private void SetExpected(IReadOnlyList<Google.Protobuf.ByteString> digests)
    {
        if (digests.Count != _layout.PieceCount)
        {
            return;
        }

        lock (_lock)
        {
            for (var i = 0; i < digests.Count; i++)
            {
                if (digests[i].Length == 32)
                {
                    _expected[i] ??= Digest.FromHash("sha256", digests[i].Span);
                }
            }
        }
    }

    private void AddParents(IEnumerable<ParentPeer> parents, CancellationToken cancellationToken)
    {
        foreach (var candidate in parents)
        {
            if (candidate.HostId == _self || string.IsNullOrEmpty(candidate.PeerAddress))
            {
                continue;
            }

            Parent parent;
            lock (_lock)
            {
                if (_parents.TryGetValue(candidate.HostId, out var known) && !known.Dead)
                {
                    continue;
                }

                if (known is not null && known.Corrupt)
                {
                    continue; // it served wrong bytes: never again for this blob, whatever the scheduler says
                }

                if (known is not null)
                {
                    _retired.Add(known); // dead, offered again: stopped with the others at the end
                }

                parent = new Parent(candidate.HostId, candidate.PeerAddress, _clients.Get(candidate.PeerAddress), cancellationToken);
                _parents[candidate.HostId] = parent;
            }

            parent.Sync = SyncAsync(parent);
        }
    }

    /// <summary>Follows a parent's SyncPieces stream: what it holds now, then each piece it completes.</summary>
    private async Task SyncAsync(Parent parent)
    {
        var reason = "finished";
        try
        {
            using var call = parent.Client.Client.SyncPieces(
                new SyncPiecesRequest { TaskDigest = BlobDigest.ToString(), ContentLength = _layout.Length },
                cancellationToken: parent.Stop.Token);
            while (await call.ResponseStream.MoveNext(parent.Stop.Token))
            {
                var message = call.ResponseStream.Current;
                if (message.ContentLength != _layout.Length || message.PieceCount != _layout.PieceCount)
                {
                    Drop(parent, "bad_announcement", $"announces {message.ContentLength} bytes in {message.PieceCount} pieces, expected {_layout.Length} in {_layout.PieceCount}");
                    return;
                }

                lock (_lock)
                {
                    parent.Have ??= new PieceBitmap(_layout.PieceCount);
                    foreach (var piece in message.Pieces)
                    {
                        if ((uint)piece.Index < (uint)_layout.PieceCount && piece.Sha256.Length == 32)
                        {
                            parent.Have.Set(piece.Index);
                            parent.Digests[piece.Index] = Digest.FromHash("sha256", piece.Sha256.Span);
                        }
                    }
                }

                if (message.Pieces.Count > 0)
                {
                    // The swarm moves (a parent gained pieces): not a stall, even if none reached us yet.
                    Volatile.Write(ref _lastProgress, _time.GetTimestamp());
                }

                _changed.Pulse();
            }
        }
        catch (RpcException ex) when (!parent.Stop.IsCancellationRequested)
        {
            reason = ex.StatusCode == StatusCode.NotFound ? "not_found" : "unreachable";
            Drop(parent, reason, ex.Status.Detail);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or HttpRequestException)
        {
            // Stopped by us, or the connection went away while stopping.
        }
    }

    private async Task PeerWorkerAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested && !_partial.IsComplete)
            {
                if (!TryPick(out var piece, out var parent, out var expected))
                {
                    await _changed.WaitAsync(LoopInterval, _time, cancellationToken);
                    continue;
                }

                try
                {
                    await FetchFromParentAsync(parent, piece, expected, cancellationToken);
                }
                finally
                {
                    lock (_lock)
                    {
                        parent.InFlight--;
                    }

                    _claims.Release(piece);
                    _changed.Pulse();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The blob is complete, or the download stops.
        }
    }

    private async Task FetchFromParentAsync(Parent parent, int piece, Digest? expected, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PieceTimeout);
        try
        {
            var digest = await parent.Client.DownloadPieceAsync(_partial, piece, expected, timeout.Token);
            Interlocked.Add(ref _peerBytes, _layout.LengthOf(piece));
            Interlocked.Increment(ref _piecesFromPeers);
            Stored(piece, digest, fromPeer: true);
        }
        catch (PeerPieceException ex)
        {
            // Wrong bytes or framing: never trust this parent again for this blob.
            parent.Corrupt = true;
            _session?.PieceFailed(piece, parent.HostId, corrupt: true);
            Drop(parent, "corrupt", ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            SwarmLog.PieceFromParentFailed(_logger, BlobDigest.ToString(), piece, parent.HostId, $"slower than {_options.PieceTimeout}");
            _session?.PieceFailed(piece, parent.HostId, corrupt: false);
            Fault(parent, "slow");
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            SwarmLog.PieceFromParentFailed(_logger, BlobDigest.ToString(), piece, parent.HostId, ex.Status.Detail);
            switch (ex.StatusCode)
            {
                case StatusCode.ResourceExhausted:
                    parent.BusyUntil = _time.GetTimestamp() + (long)(BusyBackoff.TotalSeconds * _time.TimestampFrequency);
                    break;
                case StatusCode.NotFound or StatusCode.FailedPrecondition:
                    lock (_lock)
                    {
                        parent.Have?.Clear(piece); // it does not hold what it announced (evicted, or a different piece)
                    }

                    _session?.PieceFailed(piece, parent.HostId, corrupt: false);
                    Fault(parent, "refused");
                    break;
                default:
                    _session?.PieceFailed(piece, parent.HostId, corrupt: false);
                    Drop(parent, "unreachable", ex.Status.Detail);
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // InvalidOperationException: the piece arrived meanwhile from elsewhere, or its writer was superseded.
            SwarmLog.PieceFromParentFailed(_logger, BlobDigest.ToString(), piece, parent.HostId, ex.Message);
            if (ex is not InvalidOperationException)
            {
                Fault(parent, "unreachable");
            }
        }
    }

    /// <summary>Claims the rarest open piece among what live parents hold, and the least busy parent holding it.</summary>
    private bool TryPick(out int piece, out Parent parent, out Digest? expected)
    {
        piece = -1;
        parent = null!;
        expected = null;
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_parents.Count == 0)
            {
                return false;
            }

            var bestCount = int.MaxValue;
            for (var i = 0; i < _layout.PieceCount; i++)
            {
                if (_partial.HasPiece(i) || _claims.IsClaimed(i))
                {
                    continue;
                }

                var holders = 0;
                foreach (var candidate in _parents.Values)
                {
                    if (!candidate.Dead && candidate.Have is { } have && have[i])
                    {
                        holders++;
                    }
                }

                if (holders > 0 && holders < bestCount)
                {
                    bestCount = holders;
                    piece = i;
                    if (holders == 1)
                    {
                        break; // cannot get rarer; the lowest such index streams soonest
                    }
                }
            }

            if (piece < 0)
            {
                return false;
            }

            Parent? chosen = null;
            foreach (var candidate in _parents.Values)
            {
                if (candidate.Dead || candidate.Have is not { } have || !have[piece] || candidate.InFlight >= MaxInFlightPerParent || candidate.BusyUntil > now)
                {
                    continue;
                }

                if (chosen is null || candidate.InFlight < chosen.InFlight || (candidate.InFlight == chosen.InFlight && candidate.Failures < chosen.Failures))
                {
                    chosen = candidate;
                }
            }

            if (chosen is null || !_claims.TryClaim(piece))
            {
                piece = -1;
                return false;
            }

            chosen.InFlight++;
            parent = chosen;
            expected = _expected[piece] ?? (chosen.Digests.TryGetValue(piece, out var announced) ? announced : null);
            return true;
        }
    }

    private void Stored(int index, Digest digest, bool fromPeer)
    {
        Volatile.Write(ref _lastProgress, _time.GetTimestamp());
        (fromPeer ? SwarmMetrics.PiecesFromPeers : SwarmMetrics.PiecesFromOrigin).Inc();
        _download.PieceStored();
        _tasks.PieceCompleted(BlobDigest, index, digest);
        _session?.PieceFinished(index, digest);
        _changed.Pulse();
    }

    private void Fault(Parent parent, string reason)
    {
        bool drop;
        lock (_lock)
        {
            drop = ++parent.Failures >= ParentFailureLimit;
        }

        if (drop)
        {
            Drop(parent, reason, $"{parent.Failures} failed pieces");
        }
    }

    private void Drop(Parent parent, string reason, string detail)
    {
        lock (_lock)
        {
            if (parent.Dead)
            {
                return;
            }

            parent.Dead = true;
        }

        SwarmMetrics.ParentsDropped.WithLabels(reason).Inc();
        SwarmLog.ParentDropped(_logger, BlobDigest.ToString(), $"{parent.HostId} ({parent.Address})", $"{reason}: {detail}");
        _session?.ParentFailed(parent.HostId);
        parent.Stop.Cancel();
        _changed.Pulse();
    }

    private bool HasUsefulLocked(Parent parent)
    {
        for (var i = 0; i < _layout.PieceCount; i++)
        {
            if (parent.Have![i] && !_partial.HasPiece(i))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Ends every parent's SyncPieces stream and waits for it before releasing its token source.</summary>
    private async Task StopParentsAsync()
    {
        List<Parent> parents;
        lock (_lock)
        {
            parents = [.. _parents.Values, .. _retired];
        }

        foreach (var parent in parents)
        {
            await parent.Stop.CancelAsync();
        }

        await WhenAllQuietly([.. parents.Select(p => p.Sync).OfType<Task>()]);
        foreach (var parent in parents)
        {
            parent.Stop.Dispose();
        }
    }

    private static async Task WhenAllQuietly(Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException or RpcException or InvalidOperationException)
        {
            // Stopping: whatever they were doing no longer matters.
        }
    }

    /// <summary>One parent of this download: what it holds (from SyncPieces) and how it has served us.</summary>
    private sealed class Parent(string hostId, string address, PeerClient client, CancellationToken cancellationToken)
    {
        public string HostId { get; } = hostId;
        public string Address { get; } = address;
        public PeerClient Client { get; } = client;
        public CancellationTokenSource Stop { get; } = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        public Task? Sync { get; set; }

        // Guarded by the download's lock.
        public PieceBitmap? Have { get; set; }
        public Dictionary<int, Digest> Digests { get; } = [];
        public int InFlight { get; set; }
        public int Failures { get; set; }
        public bool Dead { get; set; }
        public bool Corrupt { get; set; }
        public long BusyUntil { get; set; }
    }
}
