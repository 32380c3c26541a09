using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Downloads;

/// <summary>The settings a fill runs with.</summary>
/// <param name="MaxPiecesInFlight">Pieces requested from parents at once.</param>
/// <param name="PieceTimeout">A piece from a parent that sends no byte for this long is cancelled; the parent counts as slow.</param>
/// <param name="StallTimeout">No byte from parents and no piece for this long while not reading the origin: the rest comes from the origin.</param>
/// <param name="SelfHostId">This agent's host id, never its own parent.</param>
/// <param name="MaxOriginResumes">Range resumes of a broken origin body.</param>
/// <param name="OriginIdleTimeout">An origin body that yields nothing for this long is resumed.</param>
/// <param name="SelfZone">This agent's Node:Zone, to tell each parent's locality.</param>
/// <param name="SelfRegion">This agent's Node:Region.</param>
internal sealed record FillSettings(
    int MaxPiecesInFlight,
    TimeSpan PieceTimeout,
    TimeSpan StallTimeout,
    string SelfHostId,
    int MaxOriginResumes,
    TimeSpan OriginIdleTimeout,
    string SelfZone = "",
    string SelfRegion = "");

/// <summary>
/// Fills one blob's partial file: pieces from the parents the scheduler names (rarest first among what they hold,
/// a bounded number in flight, each verified), and from the origin by HTTP Range when the scheduler grants
/// back-to-source. Whatever goes wrong in P2P ends in the origin: no scheduler, a broken session, parents that
/// die, stall or serve wrong bytes. Never fails a pull that the origin could serve.
/// </summary>
/// <remarks>
/// One control loop applies the scheduler's decisions, watches for stalls and starts or stops the origin lane;
/// peer workers pick pieces on their own through the <see cref="ParentSet"/>. <see cref="PieceClaims"/> keeps the
/// origin lane and the workers off each other's pieces. Every wait runs on the <see cref="TimeProvider"/>.
/// Progress goes up through <see cref="IFillProgress"/> only.
/// </remarks>
internal sealed class SwarmFill : IFillProgress
{
    /// <summary>Failures (slow or refused pieces) after which a parent is dropped; wrong bytes drop it at once.</summary>
    internal const int ParentFailureLimit = 2;

    private static readonly TimeSpan LoopInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinRescheduleInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan BusyBackoff = TimeSpan.FromMilliseconds(200);

    private readonly PartialBlob _partial;
    private readonly PieceLayout _layout;
    private readonly IFillProgress _progress;
    private readonly FillSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AsyncPulse _changed = new();
    private readonly ParentSet _parents;
    private readonly OriginLane _origin;

    private ISchedulerSession? _session;
    private Task? _originTask;
    private CancellationTokenSource? _originCts;
    private bool _originGranted;
    private long _lastProgress;
    private long _rescheduleAt = long.MaxValue;
    private long _lastReschedule;
    private long _peerBytes;
    private int _piecesFromPeers;

    public SwarmFill(
        PartialBlob partial,
        IFillProgress progress,
        OriginRangeOpener openOrigin,
        IParentClients clients,
        FillSettings settings,
        TimeProvider time,
        ILogger logger)
    {
        _partial = partial;
        _layout = partial.Layout;
        _progress = progress;
        _settings = settings;
        _time = time;
        _logger = logger;
        var claims = new PieceClaims(_layout.PieceCount);
        _parents = new ParentSet(partial, claims, clients, settings.SelfHostId, settings.SelfZone, settings.SelfRegion);
        _origin = new OriginLane(partial, claims, openOrigin, this, _changed, settings.MaxOriginResumes, settings.OriginIdleTimeout, time, logger);
    }

    /// <summary>Whether any stored piece came from a peer (a whole-blob mismatch then distrusts the swarm for this blob).</summary>
    public bool UsedPeers => Volatile.Read(ref _piecesFromPeers) > 0;

    /// <summary>Whether the origin lane is reading now (a scheduler replica taking over gives it the back-to-source slot back).</summary>
    public bool ReadingOrigin => Volatile.Read(ref _originTask) is { IsCompleted: false };

    /// <summary>Bytes of piece data stored from parents.</summary>
    public long PeerBytes => Interlocked.Read(ref _peerBytes);

    /// <summary>Bytes of piece data stored from the origin.</summary>
    public long OriginBytes => _origin.StoredBytes;

    private Digest BlobDigest => _partial.Digest;

    /// <summary>
    /// Stores every piece. <paramref name="session"/> is the scheduler session with its first decision queued, or
    /// null to go straight to the origin (<paramref name="originReason"/> says why, for the metric).
    /// <paramref name="openBody"/> is the origin's already open 200 body of the whole blob, read first if given.
    /// </summary>
    public async Task FillAsync(ISchedulerSession? session, string originReason, HttpResponseMessage? openBody, CancellationToken cancellationToken)
    {
        _session = session;
        _lastProgress = _time.GetTimestamp();
        using var workersCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = new Task[_settings.MaxPiecesInFlight];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = PeerWorkerAsync(workersCts.Token);
        }

        try
        {
            if (session is null)
            {
                SwarmMetrics.OriginFallbacks.WithLabels(originReason).Inc();
                StartOrigin(0, _layout.PieceCount, granted: false, openBody, cancellationToken);
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

            await _parents.StopAllAsync();
            _originCts?.Dispose();
        }

        SwarmLog.Completed(_logger, BlobDigest.ToString(), PeerBytes, OriginBytes);
        var source = _piecesFromPeers == 0 ? "origin" : _piecesFromPeers == _layout.PieceCount ? "peers" : "mixed";
        SwarmMetrics.Downloads.WithLabels(source).Inc();
    }

    void IFillProgress.Streamed(long available) => _progress.Streamed(available);

    void IFillProgress.PieceStored(int index, Digest sha256) => Stored(index, sha256, fromPeer: false);

    private void Apply(AnnounceResponse decision, CancellationToken cancellationToken)
    {
        SwarmLog.Decision(_logger, BlobDigest.ToString(), decision.KindCase.ToString());
        switch (decision.KindCase)
        {
            case AnnounceResponse.KindOneofCase.Parents:
                _parents.SetExpected(decision.Parents.PieceSha256);
                Follow(_parents.Add(decision.Parents.Parents, cancellationToken));
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
                Follow(_parents.Add(grant.Parents, cancellationToken));
                var start = Math.Clamp(grant.PieceStart, 0, _layout.PieceCount);
                var end = Math.Clamp(grant.PieceEnd, start, _layout.PieceCount);
                if (end == start)
                {
                    (start, end) = (0, _layout.PieceCount);
                }

                StartOrigin(start, end, granted: true, openBody: null, cancellationToken);
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
        var anyUseful = _parents.AnyUseful();
        if (session is null || session.IsBroken)
        {
            if (!anyUseful)
            {
                // No scheduler to ask and no parent with anything we lack: the origin it is.
                SwarmMetrics.OriginFallbacks.WithLabels("no_scheduler").Inc();
                StartOrigin(0, _layout.PieceCount, granted: false, openBody: null, cancellationToken);
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
        if (stalled >= _settings.StallTimeout)
        {
            SwarmLog.FallingBackToOrigin(_logger, BlobDigest.ToString(), stalled, _layout.PieceCount - _partial.PresentPieceCount);
            SwarmMetrics.OriginFallbacks.WithLabels("stall").Inc();
            StartOrigin(0, _layout.PieceCount, granted: false, openBody: null, cancellationToken);
        }
    }

    private void StartOrigin(int start, int end, bool granted, HttpResponseMessage? openBody, CancellationToken cancellationToken)
    {
        if (_originTask is { IsCompleted: false })
        {
            return;
        }

        _originCts?.Dispose();
        _originCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _originGranted = granted;
        var token = _originCts.Token;
        _originTask = Task.Run(() => _origin.RunAsync(start, end, openBody, token), CancellationToken.None);
    }

    private void Follow(List<ParentLink> added)
    {
        foreach (var parent in added)
        {
            parent.Sync = SyncAsync(parent);
        }
    }

    /// <summary>Follows a parent's SyncPieces stream: what it holds now, then each piece it completes.</summary>
    private async Task SyncAsync(ParentLink parent)
    {
        await Task.Yield(); // the control loop goes on while the stream opens
        try
        {
            await foreach (var message in parent.Client.SyncPiecesAsync(BlobDigest, _layout.Length, parent.Stop.Token))
            {
                if (!_parents.Announced(parent, message))
                {
                    Drop(parent, "bad_announcement", $"announces {message.ContentLength} bytes in {message.PieceCount} pieces, expected {_layout.Length} in {_layout.PieceCount}");
                    return;
                }

                if (message.Pieces.Count > 0)
                {
                    // The swarm moves (a parent gained pieces): not a stall, even if none reached us yet.
                    Volatile.Write(ref _lastProgress, _time.GetTimestamp());
                }

                _changed.Pulse();
            }

            // The stream ended normally: the parent holds the whole blob (committed), or will announce no more.
            // What it announced stays usable.
        }
        catch (RpcException ex) when (!parent.Stop.IsCancellationRequested)
        {
            Drop(parent, ex.StatusCode == StatusCode.NotFound ? "not_found" : "unreachable", ex.Status.Detail);
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
                if (!_parents.TryPick(_time.GetTimestamp(), out var piece, out var parent, out var expected))
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
                    _parents.Return(parent, piece);
                    _changed.Pulse();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The blob is complete, or the download stops.
        }
    }

    private async Task FetchFromParentAsync(ParentLink parent, int piece, Digest? expected, CancellationToken cancellationToken)
    {
        // An idle timeout, not a deadline: on a slow link a parent sending steadily takes longer than PieceTimeout per
        // piece (4 pieces of 4 MiB in flight at 50 Mbit/s take 10.7 s), and dropping it sent children to the origin.
        using var timeout = new CancellationTokenSource(_settings.PieceTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var digest = await parent.Client.DownloadPieceAsync(_partial, piece, expected, _ =>
            {
                timeout.CancelAfter(_settings.PieceTimeout);
                Volatile.Write(ref _lastProgress, _time.GetTimestamp());
            }, linked.Token);
            CountPeerBytes(parent, piece);
            Stored(piece, digest, fromPeer: true);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException && cancellationToken.IsCancellationRequested)
        {
            // The blob completed (or the download stops) while this piece was settling: the store marks a piece
            // present before it persists its metadata, so it may be stored, and then from this parent (the claim
            // kept everyone else off it). Count it, else the last piece of a blob went missing from the counters.
            if (_partial.HasPiece(piece))
            {
                CountPeerBytes(parent, piece);
            }

            throw;
        }
        catch (PeerPieceException ex)
        {
            // Wrong bytes or framing: never trust this parent again for this blob.
            _session?.PieceFailed(piece, parent.HostId, corrupt: true);
            Drop(parent, "corrupt", ex.Message, corrupt: true);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // gRPC reports its own cancellation as CANCELLED: the piece timed out, the parent is slow.
            SwarmLog.PieceFromParentFailed(_logger, BlobDigest.ToString(), piece, parent.HostId, $"no byte for {_settings.PieceTimeout}");
            _session?.PieceFailed(piece, parent.HostId, corrupt: false);
            Fault(parent, "slow");
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            SwarmLog.PieceFromParentFailed(_logger, BlobDigest.ToString(), piece, parent.HostId, ex.Status.Detail);
            switch (ex.StatusCode)
            {
                case StatusCode.ResourceExhausted:
                    _parents.Busy(parent, _time.GetTimestamp() + (long)(BusyBackoff.TotalSeconds * _time.TimestampFrequency));
                    break;
                case StatusCode.NotFound or StatusCode.FailedPrecondition:
                    _parents.Forget(parent, piece);
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

    private void CountPeerBytes(ParentLink parent, int piece)
    {
        var length = _layout.LengthOf(piece);
        Interlocked.Add(ref _peerBytes, length);
        PeerMetrics.ReceivedBytes(parent.Locality).Inc(length);
        Interlocked.Increment(ref _piecesFromPeers);
    }

        private void Stored(int index, Digest digest, bool fromPeer)
    {
        Volatile.Write(ref _lastProgress, _time.GetTimestamp());
        (fromPeer ? SwarmMetrics.PiecesFromPeers : SwarmMetrics.PiecesFromOrigin).Inc();
        _progress.PieceStored(index, digest);
        _session?.PieceFinished(index, digest);
        _changed.Pulse();
    }

    private void Fault(ParentLink parent, string reason)
    {
        if (_parents.Fault(parent, ParentFailureLimit))
        {
            Drop(parent, reason, $"{parent.Failures} failed pieces");
        }
    }

    private void Drop(ParentLink parent, string reason, string detail, bool corrupt = false)
    {
        if (!_parents.Kill(parent, corrupt))
        {
            return;
        }

        SwarmMetrics.ParentsDropped.WithLabels(reason).Inc();
        SwarmLog.ParentDropped(_logger, BlobDigest.ToString(), $"{parent.HostId} ({parent.Address})", $"{reason}: {detail}");
        _session?.ParentFailed(parent.HostId);
        parent.Stop.Cancel();
        _changed.Pulse();
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
}
