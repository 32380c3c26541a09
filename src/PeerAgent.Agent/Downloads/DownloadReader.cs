using System.Buffers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// A request's hold on an <see cref="ActiveDownload"/>: taken atomically when the request starts or joins it, so
/// the partial file stays open however soon the writer finishes. Dispose it when done, whether or not anything was copied.
/// </summary>
internal sealed class DownloadReader : IDisposable
{
    private const int ChunkSize = 128 * 1024;

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
    /// Streams bytes [first, last] of the blob to <paramref name="destination"/> as they arrive. Throws when the
    /// download fails; the caller must then abort its response, never end it normally.
    /// </summary>
    public async Task CopyToAsync(Stream destination, long first, long last, Action<long> onSent, CancellationToken cancellationToken)
    {
        var gate = _download.Gate;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var position = first;
            while (position <= last)
            {
                await gate.WaitBeyondAsync(position, cancellationToken);
                var count = (int)Math.Min(Math.Min(buffer.Length, gate.Limit - position), last - position + 1);
                int read;
                try
                {
                    read = await _partial.ReadAsync(position, buffer.AsMemory(0, count), cancellationToken);
                }
                catch (ObjectDisposedException ex)
                {
                    // A blob that failed verification is discarded under the reader's feet: the transfer failed.
                    throw new BlobTransferException("the transfer of this blob failed", gate.Failure ?? ex);
                }

                if (read <= 0)
                {
                    throw new BlobTransferException($"short read of {Digest} at {position}", null);
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                onSent(read);
                position += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _download.Release();
        }
    }
}
