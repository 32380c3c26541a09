using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// One download's scheduler session, across scheduler replicas. It forwards the decisions of its current Announce
/// stream; when that stream breaks (the replica died or its connection was lost), it registers the download again,
/// with the pieces held by then and whether it is reading the origin, on the next replica in the blob's ranking and carries on with that one's
/// decisions. The download sees one uninterrupted session, and ends up at the origin only when no replica answers.
/// </summary>
internal sealed class SchedulerSession : ISchedulerSession, IAsyncDisposable
{
    /// <summary>Replicas one download moves to at most; past that it carries on without the scheduler.</summary>
    internal const int MaxFailovers = 3;

    private readonly SchedulerConnection _connection;
    private readonly Digest _task;
    private readonly long _length;
    private readonly Func<DownloadState> _state;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<AnnounceResponse> _decisions = Channel.CreateUnbounded<AnnounceResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cts = new();

    // Held while the stream is swapped, so a closing report never goes to a stream that is being replaced.
    private readonly SemaphoreSlim _swap = new(1, 1);
    private readonly Task _pump;
    private volatile AnnounceSession _current;
    private SchedulerReplica _replica;
    private volatile bool _closed;

    public SchedulerSession(
        SchedulerConnection connection,
        Digest task,
        long length,
        Func<DownloadState> state,
        AnnounceSession first,
        SchedulerReplica replica,
        TimeProvider time,
        ILogger logger)
    {
        _connection = connection;
        _task = task;
        _length = length;
        _state = state;
        _current = first;
        _replica = replica;
        _time = time;
        _logger = logger;
        _pump = PumpAsync();
    }

    public ChannelReader<AnnounceResponse> Decisions => _decisions.Reader;

    public bool IsBroken => _decisions.Reader.Completion.IsCompleted;

    /// <summary>The scheduler address the session is on now.</summary>
    public string SchedulerAddress => Volatile.Read(ref _replica).Address;

    public void PieceFinished(int index, Digest sha256) => _current.PieceFinished(index, sha256);

    public void PieceFailed(int index, string parentHostId, bool corrupt) => _current.PieceFailed(index, parentHostId, corrupt);

    public void ParentFailed(string parentHostId) => _current.ParentFailed(parentHostId);

    public void Reschedule() => _current.Reschedule();

    /// <summary>Reports the verified blob with every piece digest and closes the stream (the peer stays a seed).</summary>
    public Task FinishAsync(IEnumerable<Digest> pieceDigests) => CloseAsync(current => current.FinishAsync(pieceDigests));

    /// <summary>Reports the failed download and closes the stream.</summary>
    public Task FailAsync(string reason) => CloseAsync(current => current.FailAsync(reason));

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        await _cts.CancelAsync();
        var current = _current;
        await current.DisposeAsync(); // ends its decisions, so the pump stops
        await _pump;
        if (_current != current)
        {
            await _current.DisposeAsync(); // a move finished meanwhile
        }

        _cts.Dispose();
        _swap.Dispose();
    }

    private async Task CloseAsync(Func<AnnounceSession, Task> close)
    {
        await _swap.WaitAsync();
        try
        {
            _closed = true;
            await close(_current);
        }
        finally
        {
            _swap.Release();
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            for (var failovers = 0; ; failovers++)
            {
                var current = _current;
                await foreach (var decision in current.Decisions.ReadAllAsync())
                {
                    _decisions.Writer.TryWrite(decision);
                }

                // Ended by the scheduler or by this side, or too many moves already: the download goes on without one.
                if (_closed || current.Failure is not { } failure || failovers >= MaxFailovers)
                {
                    return;
                }

                if (!await MoveAsync(current, failure))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        finally
        {
            _decisions.Writer.TryComplete();
        }
    }

    private async Task<bool> MoveAsync(AnnounceSession broken, Exception failure)
    {
        var started = _time.GetTimestamp();
        var from = _replica;
        _connection.Failed(from, failure);
        await _swap.WaitAsync(_cts.Token);
        try
        {
            if (_closed)
            {
                return false;
            }

            DownloadState state;
            try
            {
                state = _state();
            }
            catch (ObjectDisposedException)
            {
                return false; // the download is over; nothing left to schedule
            }

            var next = await _connection.OpenAsync(_task, _length, state, exclude: from, _cts.Token, moved: true);
            if (next is not { } opened)
            {
                return false;
            }

            (_current, _replica) = (opened.Session, opened.Replica);
            var elapsed = _time.GetElapsedTime(started);
            SwarmMetrics.SchedulerFailovers.Observe(elapsed.TotalSeconds);
            SwarmLog.SchedulerFailover(_logger, _task.ToString(), from.Address, opened.Replica.Address, elapsed);
        }
        finally
        {
            _swap.Release();
        }

        await broken.DisposeAsync();
        return true;
    }
}
