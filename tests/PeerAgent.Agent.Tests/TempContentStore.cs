using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Tests;

/// <summary>A content store in a fresh temp directory, initialised; deleted with the directory on dispose.</summary>
internal sealed class TempContentStore : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "peeragent-agent-tests", Guid.NewGuid().ToString("N"));

    private TempContentStore() => Store = new ContentStore(new ContentStoreOptions { RootPath = _root }, TimeProvider.System);

    public ContentStore Store { get; }

    public static async Task<TempContentStore> CreateAsync()
    {
        var temp = new TempContentStore();
        await temp.Store.InitializeAsync(default);
        return temp;
    }

    public void Dispose()
    {
        Store.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
