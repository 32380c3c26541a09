using Microsoft.Extensions.Time.Testing;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;

namespace PeerAgent.Core.Tests.TestSupport;

/// <summary>Temp root, fake clock and helpers shared by the store tests. Stores opened here are disposed with the test.</summary>
public abstract class StoreTestBase : IDisposable
{
    internal const int Piece = PieceLayout.MinPieceSize;

    private readonly TempDirectory _dir = new();
    private readonly List<IDisposable> _disposables = [];

    protected StoreTestBase()
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Logger = new ListLogger<ContentStore>();
    }

    protected FakeTimeProvider Time { get; }

    internal ListLogger<ContentStore> Logger { get; }

    protected string Root => _dir.Path;

    protected string BlobsDir => Path.Combine(Root, "blobs");

    protected string PartialDir => Path.Combine(Root, "partial");

    protected string TmpDir => Path.Combine(Root, "tmp");

    protected string MetaDir => Path.Combine(Root, "meta");

    protected async Task<ContentStore> OpenStoreAsync(long quotaBytes = 1L << 30)
    {
        var store = new ContentStore(new ContentStoreOptions { RootPath = Root, QuotaBytes = quotaBytes }, Time, Logger);
        _disposables.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    protected T Track<T>(T disposable)
        where T : IDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    protected static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A blob of two full pieces and a short third one.</summary>
    protected static byte[] ThreePieceBlob(int seed = 1) => RandomBytes((2 * Piece) + 1000, seed);

    protected static ReadOnlyMemory<byte> PieceOf(byte[] blob, int index)
    {
        var layout = PieceLayout.For(blob.Length);
        return blob.AsMemory((int)layout.OffsetOf(index), layout.LengthOf(index));
    }

    protected static Digest PieceDigest(byte[] blob, int index) => Digest.Compute(PieceOf(blob, index).Span);

    /// <summary>Writes piece <paramref name="index"/> of <paramref name="blob"/> in chunks and completes it.</summary>
    protected static async Task<Digest> WritePieceAsync(PartialBlob partial, byte[] blob, int index, Digest? expected = null, int chunk = 256 * 1024)
    {
        var data = PieceOf(blob, index);
        var writer = partial.BeginPiece(index);
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            await writer.WriteAsync(data.Slice(offset, Math.Min(chunk, data.Length - offset)), CancellationToken.None);
        }

        return await writer.CompleteAsync(expected, CancellationToken.None);
    }

    protected static async Task<byte[]> ReadAllAsync(BlobReader reader)
    {
        var result = new byte[reader.Length];
        var offset = 0;
        while (offset < result.Length)
        {
            var read = await reader.ReadAsync(offset, result.AsMemory(offset), CancellationToken.None);
            read.Should().BePositive("the reader must not end before its length");
            offset += read;
        }

        return result;
    }

    protected static async Task<byte[]> ReadRangeAsync(PartialBlob partial, long offset, int length)
    {
        var result = new byte[length];
        var done = 0;
        while (done < length)
        {
            var read = await partial.ReadAsync(offset + done, result.AsMemory(done), CancellationToken.None);
            read.Should().BePositive();
            done += read;
        }

        return result;
    }

    protected string BlobFile(Digest digest) => Path.Combine(BlobsDir, digest.Algorithm, digest.Hex);

    /// <summary>The committed blob's metadata file (media type, piece digests).</summary>
    protected string BlobMetaFile(Digest digest) => Path.Combine(MetaDir, digest.Algorithm, digest.Hex);

    protected string DataFile(Digest digest) => Path.Combine(PartialDir, $"{digest.Algorithm}-{digest.Hex}.data");

    protected string MetaFile(Digest digest) => Path.Combine(PartialDir, $"{digest.Algorithm}-{digest.Hex}.meta");

    protected static string[] FilesUnder(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories) : [];

    public void Dispose()
    {
        try
        {
            for (var i = _disposables.Count - 1; i >= 0; i--)
            {
                _disposables[i].Dispose();
            }

            Logger.Entries.Should().NotContain(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error, "the store must not log errors in these scenarios");
        }
        finally
        {
            _dir.Dispose();
            GC.SuppressFinalize(this);
        }
    }
}
