using System.Text;
using PeerAgent.Agent.Mirror;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Mirror;

public sealed class ManifestCacheTests : IAsyncLifetime
{
    private const string IndexType = "application/vnd.oci.image.index.v1+json";
    private readonly TempDir _dir = new("manifests");
    private ContentStore _store = null!;

    public async Task InitializeAsync() => _store = await OpenStoreAsync();

    public Task DisposeAsync()
    {
        _store.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PutAsync_ThenTryGetAsync_ContentAndMediaTypeFromTheStoreAlsoAfterRestart()
    {
        var content = Encoding.UTF8.GetBytes("{\"schemaVersion\":2}");
        var digest = Digest.Compute(content);
        await new ManifestCache(_store).PutAsync(digest, IndexType, content, default);
        _store.Dispose();
        _store = await OpenStoreAsync();

        var cached = await new ManifestCache(_store).TryGetAsync(digest, default);

        cached.Should().NotBeNull();
        cached!.MediaType.Should().Be(IndexType);
        cached.Content.Should().Equal(content);
        Directory.Exists(Path.Combine(_store.RootPath, "manifest-types")).Should().BeFalse("media types live in the store's metadata");
    }

    [Fact]
    public async Task TryGetAsync_BlobWithoutMediaType_NotAManifest()
    {
        // A layer, or a manifest cached by a version that kept its media type in manifest-types/.
        var content = Encoding.UTF8.GetBytes("{\"schemaVersion\":2}");
        var digest = Digest.Compute(content);
        await _store.PutAsync(digest, content, default);
        var cache = new ManifestCache(_store);

        (await cache.TryGetAsync(digest, default)).Should().BeNull();

        await cache.PutAsync(digest, IndexType, content, default);
        (await cache.TryGetAsync(digest, default))!.MediaType.Should().Be(IndexType, "fetched again, it is cached with its media type");
    }

    private async Task<ContentStore> OpenStoreAsync()
    {
        var store = new ContentStore(new ContentStoreOptions { RootPath = _dir.Sub("store") }, TimeProvider.System);
        await store.InitializeAsync(default);
        return store;
    }
}
