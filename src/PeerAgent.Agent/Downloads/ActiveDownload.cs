using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// One blob being downloaded into its partial file, shared by every request that asks for it meanwhile. The
/// writer (<see cref="BlobDownloader"/>) holds the partial open; each reader holds it through a
/// <see cref="DownloadReader"/>, so the file stays readable however soon the writer finishes. The partial is
/// closed when the last of them lets go, and only then does <see cref="Closed"/> complete.
/// </summary>
internal sealed class ActiveDownload : IFillProgress
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PeerTasks _tasks;
    private PartialBlob? _partial;
    private int _users = 1; // the writer

    public ActiveDownload(PartialBlob partial, PeerTasks tasks)
    {
        _partial = partial;
        _tasks = tasks;
        Partial = partial;
        Gate = new ReaderGate(partial.Layout.Length, ContiguousPrefix(partial));
    }

    public Digest Digest => Partial.Digest;

    public long Length => Gate.Length;

    /// <summary>The writer's view of the partial; readers use theirs through <see cref="TryRead"/>.</summary>
    public PartialBlob Partial { get; }

    public ReaderGate Gate { get; }

    /// <summary>Completes once the partial file is closed (after the writer and every reader let go).</summary>
    public Task Closed => _closed.Task;

    /// <summary>A reader's hold, or null when the download is over (failed, or done and let go).</summary>
    public DownloadReader? TryRead()
    {
        lock (_gate)
        {
            if (_partial is null || Gate.Failure is not null)
            {
                return null;
            }

            _users++;
            return new DownloadReader(this, _partial);
        }
    }

    /// <summary>
    /// The writer's side: <paramref name="fill"/> stores every piece, then the whole-blob digest is verified and the
    /// blob committed. Opens the gate on success; on failure fails every reader and returns the failure.
    /// </summary>
    public async Task<Exception?> FillAndCommitAsync(Func<CancellationToken, Task> fill, CancellationToken cancellationToken)
    {
        try
        {
            await fill(cancellationToken);
            await Partial.CommitAsync(cancellationToken);
            Gate.Open();
            return null;
        }
        catch (Exception ex)
        {
            Gate.Fail(ex);
            return ex;
        }
    }

    void IFillProgress.Streamed(long available) => Gate.Advance(available);

    void IFillProgress.PieceStored(int index, Digest sha256)
    {
        Gate.Advance(ContiguousPrefix(Partial));
        _tasks.PieceCompleted(Digest, index, sha256);
    }

    /// <summary>Lets go of one hold (the writer's or a reader's); the last one closes the partial.</summary>
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

        if (toDispose is not null)
        {
            toDispose.Dispose();
            _closed.TrySetResult();
        }
    }

    private static long ContiguousPrefix(PartialBlob partial)
    {
        var first = partial.FirstMissingPiece();
        return first >= partial.Layout.PieceCount ? partial.Layout.Length : partial.Layout.OffsetOf(first);
    }
}
