using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// Which pieces of one download are being fetched right now, so the origin fetch and the peer workers never
/// write the same piece at once. A claim is released when its piece is stored or its source failed.
/// </summary>
internal sealed class PieceClaims(int pieceCount)
{
    private readonly Lock _lock = new();
    private readonly bool[] _claimed = new bool[pieceCount];

    public bool TryClaim(int index)
    {
        lock (_lock)
        {
            if (_claimed[index])
            {
                return false;
            }

            _claimed[index] = true;
            return true;
        }
    }

    public void Release(int index)
    {
        lock (_lock)
        {
            _claimed[index] = false;
        }
    }

    public bool IsClaimed(int index)
    {
        lock (_lock)
        {
            return _claimed[index];
        }
    }

    /// <summary>The first piece in [start, end) that is neither present nor claimed, or -1.</summary>
    public int FirstOpen(PartialBlob partial, int start, int end)
    {
        lock (_lock)
        {
            for (var i = start; i < end; i++)
            {
                if (!_claimed[i] && !partial.HasPiece(i))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}

/// <summary>A reusable wake-up: waiters resume at the next <see cref="Pulse"/> (or their timeout).</summary>
internal sealed class AsyncPulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Completes at the next pulse or after <paramref name="timeout"/>, whichever is first; never throws on timeout.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var next = Volatile.Read(ref _next).Task;
        try
        {
            await next.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // A periodic re-check is all the caller wants.
        }
    }
}
