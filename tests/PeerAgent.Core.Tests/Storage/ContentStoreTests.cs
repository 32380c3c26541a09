using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Core.Tests.TestSupport;

namespace PeerAgent.Core.Tests.Storage;

public class ContentStoreTests : StoreTestBase
{
    [Fact]
    public async Task PutAsync_MatchingContent_StoredAndReadable()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(5000, seed: 1);
        var digest = Digest.Compute(content);

        await store.PutAsync(digest, content, CancellationToken.None);

        File.ReadAllBytes(BlobFile(digest)).Should().Equal(content);
        store.TryOpenRead(digest, out var reader).Should().BeTrue();
        using (reader)
        {
            reader!.Length.Should().Be(content.Length);
            reader.Digest.Should().Be(digest);
            (await ReadAllAsync(reader)).Should().Equal(content);
        }

        FilesUnder(TmpDir).Should().BeEmpty("the temp file was renamed into place");
    }

    [Fact]
    public async Task PutAsync_Sha512_StoredUnderSha512()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(300, seed: 2);
        var digest = Digest.Compute(content, "sha512");

        await store.PutAsync(digest, content, CancellationToken.None);

        File.ReadAllBytes(Path.Combine(BlobsDir, "sha512", digest.Hex)).Should().Equal(content);
    }

    [Fact]
    public async Task PutAsync_DigestMismatch_ThrowsAndWritesNothing()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(5000, seed: 3);
        var claimed = Digest.Compute(RandomBytes(5000, seed: 4));

        var act = () => store.PutAsync(claimed, content, CancellationToken.None);

        (await act.Should().ThrowAsync<DigestMismatchException>()).Which.Actual.Should().Be(Digest.Compute(content));
        FilesUnder(BlobsDir).Should().BeEmpty();
        FilesUnder(TmpDir).Should().BeEmpty();
        store.UsedBytes.Should().Be(0);
        store.Contains(claimed).Should().BeFalse();
    }

    [Fact]
    public async Task PutAsync_SameBlobTwice_StoredOnce()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(700, seed: 5);
        var digest = Digest.Compute(content);

        await store.PutAsync(digest, content, CancellationToken.None);
        await store.PutAsync(digest, content, CancellationToken.None);

        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(700);
    }

    [Fact]
    public async Task PutAsync_SameBlobConcurrently_StoredOnceWithRightSize()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(70_000, seed: 6);
        var digest = Digest.Compute(content);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.PutAsync(digest, content, CancellationToken.None))));

        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(70_000, "losing racers must release their reservation");
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(content);
        FilesUnder(TmpDir).Should().BeEmpty();
    }

    [Fact]
    public async Task TryOpenRead_Unknown_ReturnsFalse()
    {
        var store = await OpenStoreAsync();

        store.TryOpenRead(Digest.Compute([9]), out var reader).Should().BeFalse();
        reader.Should().BeNull();
    }

    [Fact]
    public async Task BlobReader_ReadPastEndAndAfterDispose_BehavesPositionally()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(100, seed: 7);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, CancellationToken.None);
        store.TryOpenRead(digest, out var reader).Should().BeTrue();
        var buffer = new byte[50];

        (await reader!.ReadAsync(90, buffer, CancellationToken.None)).Should().Be(10);
        buffer.AsSpan(0, 10).ToArray().Should().Equal(content.AsSpan(90).ToArray());
        (await reader.ReadAsync(100, buffer, CancellationToken.None)).Should().Be(0);
        reader.Dispose();
        var act = () => reader.ReadAsync(0, buffer, CancellationToken.None).AsTask();
        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task PutAsync_OverQuota_EvictsLeastRecentlyUsed()
    {
        var store = await OpenStoreAsync(quotaBytes: 3000);
        var a = await PutAsync(store, 1000, seed: 10);
        Time.Advance(TimeSpan.FromMinutes(1));
        var b = await PutAsync(store, 1000, seed: 11);
        Time.Advance(TimeSpan.FromMinutes(1));
        var c = await PutAsync(store, 1000, seed: 12);
        Time.Advance(TimeSpan.FromMinutes(1));
        store.TryOpenRead(a, out var reader).Should().BeTrue();
        reader!.Dispose();
        Time.Advance(TimeSpan.FromMinutes(1));

        var d = await PutAsync(store, 1000, seed: 13);

        store.Contains(b).Should().BeFalse("b is the least recently used once a was read");
        store.Contains(a).Should().BeTrue();
        store.Contains(c).Should().BeTrue();
        store.Contains(d).Should().BeTrue();
        File.Exists(BlobFile(b)).Should().BeFalse();
        store.EvictionCount.Should().Be(1);
        store.UsedBytes.Should().Be(3000);
        Logger.Has(5).Should().BeTrue("evictions are logged");

        Time.Advance(TimeSpan.FromMinutes(1));
        await PutAsync(store, 1500, seed: 14);

        store.Contains(c).Should().BeFalse("c is next in LRU order");
        store.Contains(a).Should().BeFalse("1500 bytes need two 1000-byte blobs gone");
        store.Contains(d).Should().BeTrue();
        store.EvictionCount.Should().Be(3);
        store.UsedBytes.Should().Be(2500);
    }

    [Fact]
    public async Task PutAsync_OnlyBlobsWithOpenReadersLeft_ThrowsStoreFullAndKeepsThem()
    {
        var store = await OpenStoreAsync(quotaBytes: 2000);
        var a = await PutAsync(store, 1000, seed: 20);
        var b = await PutAsync(store, 1000, seed: 21);
        store.TryOpenRead(a, out var readerA).Should().BeTrue();
        store.TryOpenRead(b, out var readerB).Should().BeTrue();
        var content = RandomBytes(1000, seed: 22);

        var act = () => store.PutAsync(Digest.Compute(content), content, CancellationToken.None);

        (await act.Should().ThrowAsync<StoreFullException>()).Which.Needed.Should().Be(1000);
        store.Contains(a).Should().BeTrue();
        store.Contains(b).Should().BeTrue();
        store.EvictionCount.Should().Be(0);
        (await ReadAllAsync(readerA!)).Should().HaveCount(1000);

        readerA!.Dispose();
        await store.PutAsync(Digest.Compute(content), content, CancellationToken.None);

        store.Contains(a).Should().BeFalse("a became evictable once its reader was disposed");
        store.Contains(b).Should().BeTrue("b is still being read");
        readerB!.Dispose();
    }

    [Fact]
    public async Task TryOpenPartial_LargerThanQuota_NoRoomAndLogged()
    {
        var store = await OpenStoreAsync(quotaBytes: 1000);

        var result = store.TryOpenPartial(Digest.Compute([1]), 1001, out var partial);

        result.Should().Be(PartialOpenResult.NoRoom);
        partial.Should().BeNull();
        FilesUnder(PartialDir).Should().BeEmpty();
        store.UsedBytes.Should().Be(0);
        Logger.Has(14).Should().BeTrue("the store logs why there is no room");
    }

    [Fact]
    public async Task OpenPartial_Reserves_UsedBytesCountsReservation()
    {
        var store = await OpenStoreAsync(quotaBytes: 10_000);
        using var partial = store.OpenPartialOrFail(Digest.Compute([1]), 4000);

        store.UsedBytes.Should().Be(4000);
        store.TryOpenPartial(Digest.Compute([2]), 6001, out _).Should().Be(PartialOpenResult.NoRoom, "an open partial is never evicted");
        store.UsedBytes.Should().Be(4000);
    }

    [Fact]
    public async Task OpenPartial_StalePartialAndOldBlob_EvictedOldestFirst()
    {
        var store = await OpenStoreAsync(quotaBytes: 2500);
        var stale = Digest.Compute([7]);
        store.OpenPartialOrFail(stale, 1000).Dispose();
        Time.Advance(TimeSpan.FromMinutes(1));
        var blob = await PutAsync(store, 1000, seed: 30);
        Time.Advance(TimeSpan.FromMinutes(1));

        using var partial = store.OpenPartialOrFail(Digest.Compute([8]), 2000);

        File.Exists(DataFile(stale)).Should().BeFalse("the closed partial was the least recently used");
        File.Exists(MetaFile(stale)).Should().BeFalse();
        store.Contains(blob).Should().BeFalse("one eviction was not enough for 2000 bytes");
        store.EvictionCount.Should().Be(2);
        store.UsedBytes.Should().Be(2000);
    }

    [Fact]
    public async Task OpenPartial_EvictedPartialCannotBeResumed_StartsFresh()
    {
        var store = await OpenStoreAsync(quotaBytes: 2 * Piece);
        var blob = RandomBytes(Piece, seed: 31);
        var digest = Digest.Compute(blob);
        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            await WritePieceAsync(partial, blob, 0);
        }

        store.OpenPartialOrFail(Digest.Compute([1]), 2 * Piece).Dispose();
        var act = () => store.OpenPartialOrFail(digest, blob.Length);

        using var reopened = act.Should().NotThrow().Subject;
        reopened.HasPiece(0).Should().BeFalse("the partial was evicted to make room");
    }

    [Fact]
    public async Task CommitAsync_BlobPutMeanwhile_CommitSucceedsAndStoresOnce()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 32);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        for (var i = 0; i < 3; i++)
        {
            await WritePieceAsync(partial, blob, i);
        }

        await store.PutAsync(digest, blob, CancellationToken.None);
        await partial.CommitAsync(CancellationToken.None);

        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(blob.Length + new FileInfo(BlobMetaFile(digest)).Length, "the blob and its metadata (piece digests) count");
        FilesUnder(PartialDir).Should().BeEmpty();
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task CommittedBlob_WhilePartialStillOpen_NotEvicted()
    {
        var store = await OpenStoreAsync(quotaBytes: Piece + 100);
        var blob = RandomBytes(Piece, seed: 33);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        await WritePieceAsync(partial, blob, 0);
        await partial.CommitAsync(CancellationToken.None);

        store.TryOpenPartial(Digest.Compute([3]), 200, out _).Should().Be(PartialOpenResult.NoRoom, "the committing partial keeps a read lease until disposed");
        partial.Dispose();
        using var next = store.OpenPartialOrFail(Digest.Compute([3]), 200);
        store.Contains(digest).Should().BeFalse();
    }

    [Fact]
    public async Task Operations_BeforeInitialize_ThrowInvalidOperation()
    {
        using var store = new ContentStore(new ContentStoreOptions { RootPath = Root }, Time);

        store.Invoking(s => s.Contains(Digest.Compute([1]))).Should().Throw<InvalidOperationException>().WithMessage("*InitializeAsync*");
        store.Invoking(s => s.TryOpenPartial(Digest.Compute([1]), 1, out _)).Should().Throw<InvalidOperationException>();
        await store.InitializeAsync(CancellationToken.None);
        store.Contains(Digest.Compute([1])).Should().BeFalse();
    }

    [Fact]
    public void Constructor_NonPositiveQuota_ThrowsNamingTheKey()
    {
        var act = () => new ContentStore(new ContentStoreOptions { RootPath = Root, QuotaBytes = 0 }, Time);

        act.Should().Throw<ArgumentException>().WithMessage("*QuotaBytes*");
    }

    private static async Task<Digest> PutAsync(ContentStore store, int length, int seed)
    {
        var content = RandomBytes(length, seed);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, CancellationToken.None);
        return digest;
    }
}
