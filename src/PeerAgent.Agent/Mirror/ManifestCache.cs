using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Mirror;

/// <summary>
/// Manifests by digest, kept in the content store with their media type in a small side file. Content
/// without a side file (a layer, say) is never served as a manifest.
/// </summary>
internal sealed class ManifestCache
{
    private readonly ContentStore _store;
    private readonly string _typesDirectory;

    public ManifestCache(ContentStore store, IOptions<StoreOptions> options)
    {
        _store = store;
        _typesDirectory = Path.Combine(options.Value.DataDir, "manifest-types");
        Directory.CreateDirectory(_typesDirectory);
    }

    public async Task<CachedManifest?> TryGetAsync(Digest digest, CancellationToken cancellationToken)
    {
        var typeFile = TypeFile(digest);
        if (!File.Exists(typeFile) || !_store.TryOpenRead(digest, out var reader))
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

            var mediaType = await File.ReadAllTextAsync(typeFile, cancellationToken);
            return mediaType.Length > 0 ? new CachedManifest(mediaType, content) : null;
        }
    }

    /// <summary>Stores a manifest whose bytes the caller already hashed to <paramref name="digest"/>.</summary>
    public async Task PutAsync(Digest digest, string mediaType, byte[] content, CancellationToken cancellationToken)
    {
        // Type first: the content is only looked up through it, so a crash in between leaves nothing half-visible.
        var typeFile = TypeFile(digest);
        var temp = typeFile + ".tmp";
        await File.WriteAllTextAsync(temp, mediaType, cancellationToken);
        File.Move(temp, typeFile, overwrite: true);
        await _store.PutAsync(digest, content, cancellationToken);
    }

    private string TypeFile(Digest digest) => Path.Combine(_typesDirectory, $"{digest.Algorithm}-{digest.Hex}");
}

internal sealed record CachedManifest(string MediaType, byte[] Content);
