using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace PeerAgent.Core.Storage;

internal static class FileHashing
{
    public const int BufferSize = 1024 * 1024;

    /// <summary>Feeds <paramref name="length"/> bytes at <paramref name="offset"/> into <paramref name="hasher"/>.</summary>
    public static async ValueTask HashRangeAsync(SafeFileHandle handle, long offset, long length, byte[] buffer, IncrementalHash hasher, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            var want = (int)Math.Min(buffer.Length, length);
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException($"file ended at {offset}, {length} bytes short");
            }

            hasher.AppendData(buffer, 0, read);
            offset += read;
            length -= read;
        }
    }
}
