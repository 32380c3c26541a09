using Grpc.Core;
using PeerAgent.Core.Pieces;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Core.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>
/// One open Announce stream (one peer: task × host). The request loop and the sweeper both write decisions to it,
/// so every write goes through one lock, and the decision is computed under that lock so the last one written
/// is the newest.
/// </summary>
internal sealed class AnnounceStream
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly IServerStreamWriter<AnnounceResponse> _responses;
    private readonly CancellationToken _aborted;
    private readonly Lock _piecesLock = new();
    private readonly PieceBitmap _pieces;
    private volatile bool _closed;

    public AnnounceStream(PeerRef peer, PeerHost host, long length, PieceBitmap pieces, IServerStreamWriter<AnnounceResponse> responses, CancellationToken aborted)
    {
        Peer = peer;
        Host = host;
        Length = length;
        _pieces = pieces;
        _responses = responses;
        _aborted = aborted;
    }

    public PeerRef Peer { get; }

    /// <summary>What the agent said about itself in <c>register</c>; used to register it again if the scheduler forgot it.</summary>
    public PeerHost Host { get; }

    public long Length { get; }

    /// <summary>The scheduler considers the peer a seed (announced complete, answered finished, or reported download_finished): it stays after the stream closes.</summary>
    public bool IsSeed { get; set; }

    /// <summary>The agent reported download_failed; the scheduler already removed the peer.</summary>
    public bool HasFailed { get; set; }

    public void MarkPiece(int index)
    {
        lock (_piecesLock)
        {
            if ((uint)index < (uint)_pieces.Count)
            {
                _pieces.Set(index);
            }
        }
    }

    /// <summary>The pieces this stream has reported so far, in <see cref="PieceBitmap"/> byte form (to announce again).</summary>
    public byte[] PiecesSnapshot()
    {
        lock (_piecesLock)
        {
            return _pieces.ToBytes();
        }
    }

    /// <summary>Writes the response <paramref name="next"/> computes, under the write lock; false when the stream is closed.</summary>
    public async Task<bool> WriteAsync(Func<AnnounceStream, AnnounceResponse> next)
    {
        await _writeLock.WaitAsync(_aborted);
        try
        {
            if (_closed)
            {
                return false;
            }

            await _responses.WriteAsync(next(this), _aborted);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>No more writes; waits for one in flight so nothing is written after the call ends.</summary>
    public async Task CloseAsync()
    {
        _closed = true;
        try
        {
            await _writeLock.WaitAsync(_aborted);
            _writeLock.Release();
        }
        catch (OperationCanceledException)
        {
            // The call is aborted: a write in flight fails on its own.
        }
    }
}
