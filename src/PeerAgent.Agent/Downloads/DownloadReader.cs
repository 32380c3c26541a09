using System.IO.Pipelines;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// A request's hold on an <see cref="ActiveDownload"/>: taken atomically when the request starts or joins it, so
/// the partial file stays open however soon the writer finishes. Dispose it when done, whether or not anything was copied.
/// </summary>
internal sealed class DownloadReader : IDisposable
{
    private readonly ActiveDownload _download;
    private readonly PartialBlob _partial;
    private int _disposed;

    public DownloadReader(ActiveDownload download, PartialBlob partial)
    {
        _download = download;
        _partial = partial;
    }

    public Digest Digest => _download.Digest;

    public long Length => _download.Length;

    /// <summary>Completes when the blob is committed; faults when the transfer failed or did not verify.</summary>
    public Task Finished => _download.Gate.Finished;

    /// <summary>
    /// Streams bytes [first, last] of the blob to <paramref name="destination"/> as they arrive, reading the file
    /// straight into the writer's buffers. Throws when the download fails; the caller must then abort its response,
    /// never end it normally.
    /// </summary>
    public Task CopyToAsync(PipeWriter destination, long first, long last, Action<long> onSent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return BlobBody.CopyAsync(ReadAsync, destination, first, last, onSent, cancellationToken);
    }

    /// <summary>Reads at <paramref name="position"/> once the gate lets it, no further than the gate allows.</summary>
    private async ValueTask<int> ReadAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var gate = _download.Gate;
        await gate.WaitBeyondAsync(position, cancellationToken);
        var count = (int)Math.Min(buffer.Length, gate.Limit - position);
        int read;
        try
        {
            read = await _partial.ReadAsync(position, buffer[..count], cancellationToken);
        }
        catch (ObjectDisposedException ex)
        {
            // A blob that failed verification is discarded under the reader's feet: the transfer failed.
            throw new BlobTransferException("the transfer of this blob failed", gate.Failure ?? ex);
        }

        return read > 0 ? read : throw new BlobTransferException($"short read of {Digest} at {position}", null);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _download.Release();
        }
    }
}
