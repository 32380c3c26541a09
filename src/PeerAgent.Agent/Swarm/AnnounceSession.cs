using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Protocol.V1;
using PeerAgent.Protocol;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// One download's Announce stream. Reports are queued and sent by one writer loop (consecutive piece reports
/// are merged into one message); decisions, the first one included, arrive on <see cref="Decisions"/>.
/// A broken stream never throws at the downloader: <see cref="Decisions"/> completes and reports are dropped.
/// </summary>
internal sealed class AnnounceSession : ISchedulerSession, IAsyncDisposable
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse> _call;
    private readonly CancellationTokenSource _cts;
    private readonly Channel<AnnounceResponse> _decisions = Channel.CreateUnbounded<AnnounceResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<AnnounceRequest> _outgoing = Channel.CreateUnbounded<AnnounceRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Digest _task;
    private readonly ILogger _logger;
    private readonly Task _reader;
    private readonly Task _writer;
    private int _closed;

    public AnnounceSession(AsyncDuplexStreamingCall<AnnounceRequest, AnnounceResponse> call, CancellationTokenSource cts, AnnounceResponse first, Digest task, ILogger logger)
    {
        _call = call;
        _cts = cts;
        _task = task;
        _logger = logger;
        _decisions.Writer.TryWrite(first);
        _reader = ReadAsync();
        _writer = WriteAsync();
    }

    /// <summary>Decisions in arrival order; completes when the stream ends or breaks.</summary>
    public ChannelReader<AnnounceResponse> Decisions => _decisions.Reader;

    /// <summary>True once the stream broke or ended: the download carries on without the scheduler.</summary>
    public bool IsBroken => _decisions.Reader.Completion.IsCompleted;

    /// <summary>
    /// Why the stream broke (the scheduler went away, the connection was lost) once <see cref="IsBroken"/>; null
    /// when the scheduler ended it or this side closed it.
    /// </summary>
    public Exception? Failure { get; private set; }

    public void PieceFinished(int index, Digest sha256)
    {
        var finished = new PiecesFinished();
        finished.Indexes.Add(index);
        finished.Sha256.Add(WireMapping.ToWire(sha256));
        Send(new AnnounceRequest { PiecesFinished = finished });
    }

    public void PieceFailed(int index, string parentHostId, bool corrupt) =>
        Send(new AnnounceRequest { PieceFailed = new PieceFailed { Index = index, ParentHostId = parentHostId, Corrupt = corrupt } });

    public void ParentFailed(string parentHostId) =>
        Send(new AnnounceRequest { ParentFailed = new ParentFailed { ParentHostId = parentHostId } });

    public void Reschedule() => Send(new AnnounceRequest { Reschedule = new Reschedule() });

    /// <summary>Reports the verified blob with every piece digest and closes the stream (the peer stays a seed).</summary>
    public Task FinishAsync(IEnumerable<Digest> pieceDigests)
    {
        var finished = new DownloadFinished();
        foreach (var digest in pieceDigests)
        {
            finished.PieceSha256.Add(WireMapping.ToWire(digest));
        }

        return CloseAsync(new AnnounceRequest { DownloadFinished = finished });
    }

    /// <summary>Reports the failed download and closes the stream.</summary>
    public Task FailAsync(string reason) => CloseAsync(new AnnounceRequest { DownloadFailed = new DownloadFailed { Reason = reason } });

    public async ValueTask DisposeAsync()
    {
        _outgoing.Writer.TryComplete();
        await _cts.CancelAsync();
        try
        {
            await Task.WhenAll(_reader, _writer);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // The stream is going away either way.
        }

        _call.Dispose();
        _cts.Dispose();
    }

    private void Send(AnnounceRequest request)
    {
        if (Volatile.Read(ref _closed) == 0)
        {
            _outgoing.Writer.TryWrite(request);
        }
    }

    private async Task CloseAsync(AnnounceRequest last)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _outgoing.Writer.TryWrite(last);
        _outgoing.Writer.TryComplete();
        try
        {
            // Wait for the scheduler to read everything and end the call, so the last report is not lost to a cancel.
            await _writer.WaitAsync(CloseTimeout);
            await _reader.WaitAsync(CloseTimeout);
        }
        catch (TimeoutException)
        {
            // Give up on a slow scheduler; soft state, it will expire the peer or learn on the next announce.
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var decision in _call.ResponseStream.ReadAllAsync(_cts.Token))
            {
                _decisions.Writer.TryWrite(decision);
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_cts.IsCancellationRequested)
            {
                Failure = ex;
                SwarmLog.AnnounceStreamBroken(_logger, _task.ToString(), ex.Message);
            }
        }
        finally
        {
            _decisions.Writer.TryComplete();
            _outgoing.Writer.TryComplete();
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            var reader = _outgoing.Reader;
            while (await reader.WaitToReadAsync(_cts.Token))
            {
                AnnounceRequest? pending = null;
                while (reader.TryRead(out var next))
                {
                    if (pending?.PiecesFinished is { } merged && next.PiecesFinished is { } more)
                    {
                        merged.Indexes.AddRange(more.Indexes);
                        merged.Sha256.AddRange(more.Sha256);
                        continue;
                    }

                    if (pending is not null)
                    {
                        await _call.RequestStream.WriteAsync(pending, _cts.Token);
                    }

                    pending = next;
                }

                if (pending is not null)
                {
                    await _call.RequestStream.WriteAsync(pending, _cts.Token);
                }
            }

            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // The reader notices the broken stream and completes the decisions.
        }
    }
}
