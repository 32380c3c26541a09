using System.Buffers;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Observability;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// One upstream fetch of one blob, shared by every client that asks for it meanwhile. The writer puts the
/// bytes into the store piece by piece; readers follow it through the partial file and may send everything
/// but the last byte early. The last byte goes out only after the whole-blob digest verified and the blob
/// was committed, so a client never completes a response with wrong bytes.
/// </summary>
internal sealed class BlobDownload
{
    private const int ChunkSize = 128 * 1024;

    private readonly object _gate = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PartialBlob? _partial;
    private int _users = 1; // the writer
    private long _available;
    private volatile Exception? _failure;
    private int _waiting;

    public BlobDownload(Digest digest, long length, PartialBlob partial)
    {
        Digest = digest;
        Length = length;
        _partial = partial;
        _available = ContiguousPrefix(partial);
    }

    public Digest Digest { get; }

    public long Length { get; }

    /// <summary>Completes when the blob is committed; faults when the transfer failed or did not verify.</summary>
    public Task Finished => _finished.Task;

    /// <summary>
    /// A reader's hold on the download: taken atomically when a request starts or joins it, so the partial file
    /// stays open however soon the writer finishes. Dispose it when done, whether or not anything was copied.
    /// </summary>
    public Lease? TryLease()
    {
        lock (_gate)
        {
            if (_partial is null || _failure is not null)
            {
                return null;
            }

            _users++;
            return new Lease(this, _partial);
        }
    }

    internal async Task CopyToAsync(PartialBlob partial, Stream destination, long first, long last, Action<long> onSent, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var position = first;
            while (position <= last)
            {
                if (_failure is { } failed)
                {
                    throw new BlobTransferException($"transfer of {Digest} failed", failed);
                }

                if (position < Limit())
                {
                    var count = (int)Math.Min(Math.Min(buffer.Length, Limit() - position), last - position + 1);
                    int read;
                    try
                    {
                        read = await partial.ReadAsync(position, buffer.AsMemory(0, count), cancellationToken);
                    }
                    catch (ObjectDisposedException ex)
                    {
                        // A blob that failed verification is discarded under the reader's feet: the transfer failed.
                        throw new BlobTransferException($"transfer of {Digest} failed", _failure ?? ex);
                    }

                    if (read <= 0)
                    {
                        throw new BlobTransferException($"short read of {Digest} at {position}", null);
                    }

                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    onSent(read);
                    position += read;
                    continue;
                }

                // Announce the wait before re-checking, so the writer cannot advance unseen in between.
                Interlocked.Exchange(ref _waiting, 1);
                var progress = Volatile.Read(ref _progress);
                if (_failure is { } failure)
                {
                    throw new BlobTransferException($"transfer of {Digest} failed", failure);
                }

                if (position < Limit())
                {
                    continue;
                }

                await progress.Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Runs the writer side: <paramref name="fill"/> stores every piece (from the origin, from peers, or both),
    /// then the whole-blob digest is verified and the blob committed. Readers learn of progress through
    /// <see cref="Progress"/> and <see cref="PieceStored"/>; a failure anywhere fails every reader.
    /// </summary>
    /// <param name="beforeRelease">Runs after the outcome is known and before the writer lets go of the partial file.</param>
    public async Task RunAsync(Func<PartialBlob, CancellationToken, Task> fill, ILogger logger, CancellationToken stopping, Action<PartialBlob>? beforeRelease = null)
    {
        var partial = _partial!;
        try
        {
            await fill(partial, stopping);
            await partial.CommitAsync(stopping);
            _finished.TrySetResult();
        }
        catch (Exception ex)
        {
            if (ex is DigestMismatchException)
            {
                AgentMetrics.DigestMismatches.WithLabels("blob").Inc();
                MirrorLog.BlobDigestMismatch(logger, Digest.ToString(), ex.Message);
            }
            else
            {
                MirrorLog.BlobTransferFailed(logger, Digest.ToString(), ex.GetType().Name, ex.Message);
            }

            _failure = ex;
            _finished.TrySetException(ex);
        }
        finally
        {
            Pulse();
            beforeRelease?.Invoke(partial);
            Release();
        }
    }

    /// <summary>The first <paramref name="available"/> bytes are written (stored pieces, or the start of the next one).</summary>
    internal void Progress(long available) => Advance(available);

    /// <summary>A piece became present: readers may go up to the end of the present prefix.</summary>
    internal void PieceStored()
    {
        if (_partial is { } partial)
        {
            Advance(ContiguousPrefix(partial));
        }
    }

    // Readers may send everything up to what is written, except the final byte before the digest verified.
    private long Limit() => _finished.Task.IsCompletedSuccessfully ? Length : Math.Min(Volatile.Read(ref _available), Length - 1);

    private void Advance(long available)
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

    // Wakes every reader waiting for progress and arms a fresh signal for the next step.
    private void Pulse()
    {
        var previous = Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    internal void Release()
    {
        PartialBlob? toDispose = null;
        lock (_gate)
        {
            if (--_users == 0)
            {
                toDispose = _partial;
                _partial = null;
            }
        }

        toDispose?.Dispose();
    }

    private static long ContiguousPrefix(PartialBlob partial)
    {
        var first = partial.FirstMissingPiece();
        return first >= partial.Layout.PieceCount ? partial.Layout.Length : partial.Layout.OffsetOf(first);
    }
}

/// <summary>A reader's hold on a <see cref="BlobDownload"/>; see <see cref="BlobDownload.TryLease"/>.</summary>
internal sealed class Lease : IDisposable
{
    private readonly PartialBlob _partial;
    private int _disposed;

    public Lease(BlobDownload download, PartialBlob partial)
    {
        Download = download;
        _partial = partial;
    }

    public BlobDownload Download { get; }

    /// <summary>
    /// Streams bytes [first, last] of the blob to <paramref name="destination"/> as they arrive. Throws when the
    /// download fails; the caller must then abort its response, never end it normally.
    /// </summary>
    public Task CopyToAsync(Stream destination, long first, long last, Action<long> onSent, CancellationToken cancellationToken) =>
        Download.CopyToAsync(_partial, destination, first, last, onSent, cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Download.Release();
        }
    }
}

/// <summary>A shared blob transfer failed or its bytes did not match the digest.</summary>
internal sealed class BlobTransferException(string message, Exception? inner) : Exception(message, inner);
