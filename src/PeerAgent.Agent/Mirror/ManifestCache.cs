using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// Manifests by digest, kept in the content store with their media type in the blob's metadata. Content
/// without a media type (a layer, say, or a manifest cached by a version that kept types elsewhere) is never
/// served as a manifest.
/// </summary>
internal sealed class ManifestCache(ContentStore store)
{
    public async Task<CachedManifest?> TryGetAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (!store.TryGetMediaType(digest, out var mediaType) || !store.TryOpenRead(digest, out var reader))
        {
            return null;
        }

        using (reader)
        {
            var content = new byte[reader.Length];
            for (var read = 0; read < content.Length;)
            {
                var n = await reader.ReadAsync(read, content.AsMemory(read), cancellationToken);
                if (n <= 0)
                {
                    return null;
                }

                read += n;
            }

            return mediaType.Length > 0 ? new CachedManifest(mediaType, content) : null;
        }
    }

    /// <summary>Stores a manifest whose bytes the caller already hashed to <paramref name="digest"/>.</summary>
    public Task PutAsync(Digest digest, string mediaType, byte[] content, CancellationToken cancellationToken) =>
        store.PutAsync(digest, content, mediaType, cancellationToken);
}

internal sealed record CachedManifest(string MediaType, byte[] Content);
