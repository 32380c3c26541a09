using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Core.Tests.TestSupport;

namespace PeerAgent.Core.Tests.Storage;

/// <summary>Per-blob metadata (media type, piece digests): written with the blob, counted, evicted and recovered with it.</summary>
public class BlobMetadataTests : StoreTestBase
{
    private const string ManifestType = "application/vnd.oci.image.manifest.v1+json";

    [Fact]
    public async Task CommitAsync_Partial_PieceDigestsInTheStoreEqualWhatThePartialComputed()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 1);
        var digest = Digest.Compute(blob);
        var fromPartial = new List<Digest>();
        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            await WritePieceAsync(partial, blob, 1);
            await WritePieceAsync(partial, blob, 0);
            await WritePieceAsync(partial, blob, 2);
            await partial.CommitAsync(CancellationToken.None);
            for (var i = 0; i < partial.Layout.PieceCount; i++)
            {
                fromPartial.Add(partial.GetPieceDigest(i));
            }
        }

        store.TryGetPieceDigests(digest, out var sha256s).Should().BeTrue("the commit records the piece digests it has");
        Split(sha256s).Should().Equal(fromPartial);
        Split(sha256s).Should().Equal(Enumerable.Range(0, 3).Select(i => PieceDigest(blob, i)));
        File.Exists(BlobMetaFile(digest)).Should().BeTrue();
        store.UsedBytes.Should().Be(blob.Length + new FileInfo(BlobMetaFile(digest)).Length, "metadata counts against the quota with its blob");
        store.TryGetMediaType(digest, out _).Should().BeFalse("a blob from a partial has no media type");
        FilesUnder(TmpDir).Should().BeEmpty("the metadata temp file was renamed into place");
    }

    [Fact]
    public async Task InitializeAsync_NewStoreOnTheSameDirectory_MetadataSurvives()
    {
        var blob = ThreePieceBlob(seed: 2);
        var digest = Digest.Compute(blob);
        var manifest = RandomBytes(300, seed: 3);
        var manifestDigest = Digest.Compute(manifest);
        using (var before = new ContentStore(new ContentStoreOptions { RootPath = Root }, Time))
        {
            await before.InitializeAsync(CancellationToken.None);
            await CommitThroughPartialAsync(before, blob);
            await before.PutAsync(manifestDigest, manifest, ManifestType, CancellationToken.None);
        }

        var after = await OpenStoreAsync();

        after.TryGetPieceDigests(digest, out var sha256s).Should().BeTrue();
        Split(sha256s).Should().Equal(Enumerable.Range(0, 3).Select(i => PieceDigest(blob, i)));
        after.TryGetMediaType(manifestDigest, out var mediaType).Should().BeTrue();
        mediaType.Should().Be(ManifestType);
        after.UsedBytes.Should().Be(
            blob.Length + new FileInfo(BlobMetaFile(digest)).Length + manifest.Length + new FileInfo(BlobMetaFile(manifestDigest)).Length,
            "recovery counts each blob's metadata with it");
    }

    [Fact]
    public async Task PutAsync_WithMediaType_RoundTrips()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(500, seed: 4);
        var digest = Digest.Compute(content);

        await store.PutAsync(digest, content, "application/vnd.docker.distribution.manifest.list.v2+json", CancellationToken.None);

        store.TryGetMediaType(digest, out var mediaType).Should().BeTrue();
        mediaType.Should().Be("application/vnd.docker.distribution.manifest.list.v2+json");
        store.TryGetPieceDigests(digest, out _).Should().BeFalse("PutAsync does not record piece digests");
        store.UsedBytes.Should().Be(content.Length + new FileInfo(BlobMetaFile(digest)).Length);
    }

    [Fact]
    public async Task PutAsync_MediaTypeForABlobCommittedWithoutOne_Recorded()
    {
        // A manifest cached by a version that kept media types outside the store is fetched again and put again.
        var store = await OpenStoreAsync();
        var content = RandomBytes(500, seed: 5);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, CancellationToken.None);
        store.TryGetMediaType(digest, out _).Should().BeFalse();

        await store.PutAsync(digest, content, ManifestType, CancellationToken.None);

        store.TryGetMediaType(digest, out var mediaType).Should().BeTrue();
        mediaType.Should().Be(ManifestType);
        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(content.Length + new FileInfo(BlobMetaFile(digest)).Length);
    }

    [Fact]
    public async Task PutAsync_MediaTypeForABlobWithPieceDigests_KeepsBoth()
    {
        var store = await OpenStoreAsync();
        var blob = RandomBytes(Piece + 10, seed: 6);
        var digest = Digest.Compute(blob);
        await CommitThroughPartialAsync(store, blob);

        await store.PutAsync(digest, blob, ManifestType, CancellationToken.None);

        store.TryGetMediaType(digest, out var mediaType).Should().BeTrue();
        mediaType.Should().Be(ManifestType);
        store.TryGetPieceDigests(digest, out var sha256s).Should().BeTrue("adding a media type keeps the piece digests");
        Split(sha256s).Should().Equal(PieceDigest(blob, 0), PieceDigest(blob, 1));
    }

    [Fact]
    public async Task SetPieceDigests_BlobWithout_RecordedCountedAndMediaTypeKept()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes((2 * Piece) + 3, seed: 7);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, ManifestType, CancellationToken.None);
        var before = store.UsedBytes;
        var sha256s = Enumerable.Range(0, 3).SelectMany(i => Convert.FromHexString(PieceDigest(content, i).Hex)).ToArray();

        store.SetPieceDigests(digest, sha256s);

        store.TryGetPieceDigests(digest, out var recorded).Should().BeTrue();
        recorded.ToArray().Should().Equal(sha256s);
        store.TryGetMediaType(digest, out var mediaType).Should().BeTrue();
        mediaType.Should().Be(ManifestType);
        store.UsedBytes.Should().Be(before + (3 * 32), "the metadata grew by three piece digests");
        store.UsedBytes.Should().Be(content.Length + new FileInfo(BlobMetaFile(digest)).Length);
    }

    [Fact]
    public async Task SetPieceDigests_WrongLength_ThrowsArgument()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(100, seed: 8);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, CancellationToken.None);

        store.Invoking(s => s.SetPieceDigests(digest, new byte[64])).Should().Throw<ArgumentException>("a 100-byte blob has one piece");
        store.TryGetPieceDigests(digest, out _).Should().BeFalse();
    }

    [Fact]
    public async Task PutAsync_OverQuota_EvictsTheBlobWithItsMetadataAndReleasesBoth()
    {
        var store = await OpenStoreAsync(quotaBytes: 3000);
        var first = RandomBytes(1000, seed: 9);
        var firstDigest = Digest.Compute(first);
        await store.PutAsync(firstDigest, first, ManifestType, CancellationToken.None);
        var firstMeta = new FileInfo(BlobMetaFile(firstDigest)).Length;
        Time.Advance(TimeSpan.FromMinutes(1));
        var second = RandomBytes(1000, seed: 10);
        await store.PutAsync(Digest.Compute(second), second, CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(1));
        var third = RandomBytes(3000 - 2000 - (int)firstMeta + 1, seed: 11);

        await store.PutAsync(Digest.Compute(third), third, CancellationToken.None);

        store.Contains(firstDigest).Should().BeFalse("its metadata made the 1-byte difference, so the oldest blob went");
        File.Exists(BlobMetaFile(firstDigest)).Should().BeFalse("metadata is evicted with its blob");
        store.TryGetMediaType(firstDigest, out _).Should().BeFalse();
        store.UsedBytes.Should().Be(second.Length + third.Length, "the blob and its metadata were both released");
        store.EvictionCount.Should().Be(1);
    }

    [Fact]
    public async Task CommitAsync_NoRoomForTheMetadata_BlobCommittedWithout()
    {
        var store = await OpenStoreAsync(quotaBytes: Piece);
        var blob = RandomBytes(Piece, seed: 12);
        var digest = Digest.Compute(blob);

        await CommitThroughPartialAsync(store, blob);

        store.Contains(digest).Should().BeTrue("metadata is optional");
        store.TryGetPieceDigests(digest, out _).Should().BeFalse();
        File.Exists(BlobMetaFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(Piece);
        FilesUnder(TmpDir).Should().BeEmpty("the unused metadata temp file is deleted");
    }

    [Fact]
    public async Task CommitAsync_EmptyBlob_RecordsAnEmptySetOfPieceDigests()
    {
        var store = await OpenStoreAsync();
        var digest = Digest.Compute([]);
        using (var partial = store.OpenPartialOrFail(digest, 0))
        {
            await partial.CommitAsync(CancellationToken.None);
        }

        store.TryGetPieceDigests(digest, out var sha256s).Should().BeTrue();
        sha256s.Length.Should().Be(0);
    }

    [Fact]
    public async Task InitializeAsync_MetadataWithoutItsBlob_Deleted()
    {
        var blob = ThreePieceBlob(seed: 13);
        var digest = Digest.Compute(blob);
        await LeaveCommittedAsync(blob);
        File.Delete(BlobFile(digest));

        var store = await OpenStoreAsync();

        File.Exists(BlobMetaFile(digest)).Should().BeFalse("metadata without its blob must not survive recovery");
        store.UsedBytes.Should().Be(0);
        Logger.Has(15).Should().BeTrue();
    }

    [Fact]
    public async Task InitializeAsync_CorruptMetadata_DeletedAndTheBlobKept()
    {
        var blob = ThreePieceBlob(seed: 14);
        var digest = Digest.Compute(blob);
        await LeaveCommittedAsync(blob);
        FlipByte(BlobMetaFile(digest), 100);

        var store = await OpenStoreAsync();

        File.Exists(BlobMetaFile(digest)).Should().BeFalse();
        store.Contains(digest).Should().BeTrue("a blob without metadata is fine");
        store.TryGetPieceDigests(digest, out _).Should().BeFalse();
        store.UsedBytes.Should().Be(blob.Length);
        Logger.Has(15).Should().BeTrue();
    }

    [Fact]
    public async Task InitializeAsync_MetadataOfAnotherBlob_DeletedAndTheBlobKept()
    {
        var blob = ThreePieceBlob(seed: 15);
        var digest = Digest.Compute(blob);
        var other = RandomBytes(50, seed: 16);
        var otherDigest = Digest.Compute(other);
        await LeaveCommittedAsync(blob);
        File.WriteAllBytes(BlobFile(otherDigest), other);
        File.Copy(BlobMetaFile(digest), BlobMetaFile(otherDigest));

        var store = await OpenStoreAsync();

        File.Exists(BlobMetaFile(otherDigest)).Should().BeFalse("it describes another blob");
        File.Exists(BlobMetaFile(digest)).Should().BeTrue();
        store.Contains(otherDigest).Should().BeTrue();
        store.TryGetPieceDigests(digest, out _).Should().BeTrue();
    }

    [Fact]
    public async Task InitializeAsync_CrashAfterDataRenameBeforeMetadataRename_BlobKeptWithoutMetadata()
    {
        var blob = ThreePieceBlob(seed: 17);
        var digest = Digest.Compute(blob);
        await LeaveCommittedAsync(blob);
        Directory.CreateDirectory(TmpDir);
        File.Move(BlobMetaFile(digest), Path.Combine(TmpDir, "meta-1-1"));

        var store = await OpenStoreAsync();

        store.Contains(digest).Should().BeTrue();
        store.TryGetPieceDigests(digest, out _).Should().BeFalse();
        FilesUnder(TmpDir).Should().BeEmpty();
        store.UsedBytes.Should().Be(blob.Length);
    }

    [Fact]
    public async Task InitializeAsync_JunkInTheMetadataDirectory_Deleted()
    {
        Directory.CreateDirectory(Path.Combine(MetaDir, "sha256"));
        Directory.CreateDirectory(Path.Combine(MetaDir, "md5"));
        var junk = new[] { Path.Combine(MetaDir, "sha256", "not-a-digest"), Path.Combine(MetaDir, "md5", "x"), Path.Combine(MetaDir, "stray") };
        foreach (var path in junk)
        {
            File.WriteAllBytes(path, [1]);
        }

        await OpenStoreAsync();

        junk.Should().OnlyContain(path => !File.Exists(path));
        Directory.Exists(Path.Combine(MetaDir, "md5")).Should().BeFalse();
    }

    [Fact]
    public async Task TryGetPieceDigests_MetadataDamagedWhileRunning_FalseUntilSetAgain()
    {
        var store = await OpenStoreAsync();
        var blob = RandomBytes(Piece, seed: 18);
        var digest = Digest.Compute(blob);
        await CommitThroughPartialAsync(store, blob);
        var before = store.UsedBytes;
        FlipByte(BlobMetaFile(digest), 90);

        store.TryGetPieceDigests(digest, out _).Should().BeFalse("a checksum that fails is never trusted");
        Logger.Has(17).Should().BeTrue();

        store.SetPieceDigests(digest, Convert.FromHexString(PieceDigest(blob, 0).Hex));
        store.TryGetPieceDigests(digest, out var sha256s).Should().BeTrue("the damaged metadata was replaced");
        Split(sha256s).Should().Equal(PieceDigest(blob, 0));
        store.UsedBytes.Should().Be(before, "the new metadata replaced the old, same size");
    }

    private static IEnumerable<Digest> Split(ReadOnlyMemory<byte> sha256s)
    {
        var list = new List<Digest>();
        for (var i = 0; i < sha256s.Length; i += 32)
        {
            list.Add(Digest.FromHash("sha256", sha256s.Span.Slice(i, 32)));
        }

        return list;
    }

    private static async Task CommitThroughPartialAsync(ContentStore store, byte[] blob)
    {
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        for (var i = 0; i < PieceLayout.For(blob.Length).PieceCount; i++)
        {
            await WritePieceAsync(partial, blob, i);
        }

        await partial.CommitAsync(CancellationToken.None);
    }

    /// <summary>Commits the blob (with its piece digests) with a store instance that is then dropped.</summary>
    private async Task LeaveCommittedAsync(byte[] blob)
    {
        using var store = new ContentStore(new ContentStoreOptions { RootPath = Root }, Time);
        await store.InitializeAsync(CancellationToken.None);
        await CommitThroughPartialAsync(store, blob);
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0xFF));
    }
}
