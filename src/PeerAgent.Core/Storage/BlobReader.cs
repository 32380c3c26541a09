using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>A read lease on a committed blob; keeps it from eviction until disposed.</summary>
public sealed class BlobReader : IDisposable
{
    private BlobReader() => throw new NotImplementedException();

    public Digest Digest { get; }
    public long Length { get; }

    /// <summary>Positional read; thread-safe.</summary>
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken) => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();
}
