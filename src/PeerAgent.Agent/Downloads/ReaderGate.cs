namespace PeerAgent.Agent.Downloads;

/// <summary>
/// How far the readers of one download may read. It opens as the writer stores bytes in order, but keeps the
/// final byte shut until the whole-blob digest verified and the blob was committed, so no client ever completes
/// a response with wrong bytes. A failure wakes every waiting reader with it.
/// </summary>
internal sealed class ReaderGate
{
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _available;
    private volatile Exception? _failure;
    private int _waiting;

    public ReaderGate(long length, long available)
    {
        Length = length;
        _available = available;
    }

    public long Length { get; }

    /// <summary>Completes when the blob is committed; faults when the transfer failed or did not verify.</summary>
    public Task Finished => _finished.Task;

    /// <summary>The failure that closed the gate, if any.</summary>
    public Exception? Failure => _failure;

    /// <summary>Readers may send bytes below this offset: what is written in order, except the final byte before commit.</summary>
    public long Limit => _finished.Task.IsCompletedSuccessfully ? Length : Math.Min(Volatile.Read(ref _available), Length - 1);

    /// <summary>The first <paramref name="available"/> bytes are written.</summary>
    public void Advance(long available)
    {
        if (available > Volatile.Read(ref _available))
        {
            Volatile.Write(ref _available, available);
            if (Interlocked.Exchange(ref _waiting, 0) == 1)
            {
                Pulse(); // only when a reader waits: no allocation per chunk otherwise
            }
        }
    }

    /// <summary>The blob verified and was committed: every byte may go out.</summary>
    public void Open()
    {
        _finished.TrySetResult();
        Pulse();
    }

    /// <summary>The transfer failed: every reader fails with it.</summary>
    public void Fail(Exception failure)
    {
        _failure = failure;
        _finished.TrySetException(failure);
        Pulse();
    }

    /// <summary>Waits until the limit passes <paramref name="position"/>; throws <see cref="BlobTransferException"/> if the transfer fails.</summary>
    public async ValueTask WaitBeyondAsync(long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfFailed();
            if (position < Limit)
            {
                return;
            }

            // Announce the wait before re-checking, so the writer cannot advance unseen in between.
            Interlocked.Exchange(ref _waiting, 1);
            var progress = Volatile.Read(ref _progress);
            ThrowIfFailed();
            if (position < Limit)
            {
                return;
            }

            await progress.Task.WaitAsync(cancellationToken);
        }
    }

    public void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new BlobTransferException("the transfer of this blob failed", failure);
        }
    }

    // Wakes every reader waiting for progress and arms a fresh signal for the next step.
    private void Pulse()
    {
        var previous = Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}

/// <summary>A shared blob transfer failed or its bytes did not match the digest.</summary>
internal sealed class BlobTransferException(string message, Exception? inner) : Exception(message, inner);
