using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>A read lease on a committed blob; keeps it from eviction until disposed.</summary>
public sealed class BlobReader : IDisposable
{
    private readonly ContentStore _store;
    private readonly BlobEntry _entry;
    private readonly SafeFileHandle _handle;
    private int _disposed;

    internal BlobReader(ContentStore store, BlobEntry entry, SafeFileHandle handle)
    {
        _store = store;
        _entry = entry;
        _handle = handle;
        Digest = entry.Digest;
        Length = entry.Length;
    }

    public Digest Digest { get; }
    public long Length { get; }

    /// <summary>Positional read; thread-safe.</summary>
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (offset >= Length || buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }

        var count = (int)Math.Min(buffer.Length, Length - offset);
        return RandomAccess.ReadAsync(_handle, buffer[..count], offset, cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _handle.Dispose();
        _store.ReleaseReader(_entry);
    }
}
