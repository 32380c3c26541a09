using System.IO.Pipelines;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// How blob bytes go out to a client: read from the file straight into the response's own buffers, a large chunk at
/// a time, so each byte is copied once in user space and each chunk is one send.
/// </summary>
internal static class BlobBody
{
    /// <summary>Bytes read and sent per step; large enough that per-call costs (syscalls, flushes) stay small.</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>Copies bytes [first, last] that <paramref name="read"/> returns from a stored blob.</summary>
    public static async Task CopyAsync(
        Func<long, Memory<byte>, CancellationToken, ValueTask<int>> read,
        PipeWriter destination,
        long first,
        long last,
        Action<long> onSent,
        CancellationToken cancellationToken)
    {
        for (var position = first; position <= last;)
        {
            var count = (int)Math.Min(ChunkSize, last - position + 1);
            var got = await read(position, destination.GetMemory(count)[..count], cancellationToken);
            if (got <= 0)
            {
                throw new IOException($"stored blob ended at {position}, before its recorded length");
            }

            destination.Advance(got);
            await FlushAsync(destination, cancellationToken);
            onSent(got);
            position += got;
        }
    }

    /// <summary>Sends what was written; a client that went away ends the copy.</summary>
    public static async ValueTask FlushAsync(PipeWriter destination, CancellationToken cancellationToken)
    {
        var flushed = await destination.FlushAsync(cancellationToken);
        if (flushed.IsCanceled || flushed.IsCompleted)
        {
            throw new ClientDisconnectedException();
        }
    }
}

/// <summary>The client went away while its response body was being sent: nothing failed on our side.</summary>
internal sealed class ClientDisconnectedException() : IOException("the client stopped reading the response");
