using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Core.Tests.TestSupport;

namespace PeerAgent.Core.Tests.Storage;

/// <summary>Each test leaves the directory as a crash could, then starts a new store instance on it.</summary>
public class RecoveryTests : StoreTestBase
{
    [Fact]
    public async Task InitializeAsync_PresentPieceBytesFlipped_PieceBecomesAbsent()
    {
        var blob = ThreePieceBlob(seed: 40);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0, 1);
        FlipByte(DataFile(digest), Piece + 123);

        var store = await OpenStoreAsync();

        Logger.Has(3).Should().BeTrue("the failed piece is logged");
        var error = PartialMeta.TryRead(File.ReadAllBytes(MetaFile(digest)), out _, out _, out var bitmap, out _);
        error.Should().BeNull();
        bitmap![1].Should().BeFalse("the corrected meta is persisted");
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        partial.HasPiece(0).Should().BeTrue("piece 0 bytes are intact");
        partial.HasPiece(1).Should().BeFalse("piece 1 bytes no longer match their recorded sha256");
        await WritePieceAsync(partial, blob, 1);
        await WritePieceAsync(partial, blob, 2);
        await partial.CommitAsync(CancellationToken.None);
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task InitializeAsync_GarbageMeta_PartialDeleted()
    {
        var blob = ThreePieceBlob(seed: 41);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        File.WriteAllBytes(MetaFile(digest), RandomBytes(500, seed: 42));

        var store = await OpenStoreAsync();

        File.Exists(MetaFile(digest)).Should().BeFalse();
        File.Exists(DataFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(0);
        Logger.Has(2).Should().BeTrue();
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        partial.HasPiece(0).Should().BeFalse();
    }

    [Fact]
    public async Task InitializeAsync_MetaWithOneFlippedByte_PartialDeleted()
    {
        // The checksum catches damage that would otherwise parse as a plausible bitmap.
        var blob = ThreePieceBlob(seed: 43);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        FlipByte(MetaFile(digest), 88);

        await OpenStoreAsync();

        File.Exists(DataFile(digest)).Should().BeFalse();
    }

    [Fact]
    public async Task InitializeAsync_TruncatedMeta_PartialDeleted()
    {
        var blob = ThreePieceBlob(seed: 44);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        var meta = File.ReadAllBytes(MetaFile(digest));
        File.WriteAllBytes(MetaFile(digest), meta.AsSpan(0, meta.Length / 2).ToArray());

        await OpenStoreAsync();

        File.Exists(DataFile(digest)).Should().BeFalse();
        File.Exists(MetaFile(digest)).Should().BeFalse();
    }

    [Fact]
    public async Task InitializeAsync_DataFileMissing_MetaDeleted()
    {
        var blob = ThreePieceBlob(seed: 45);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        File.Delete(DataFile(digest));

        var store = await OpenStoreAsync();

        File.Exists(MetaFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(0);
    }

    [Fact]
    public async Task InitializeAsync_MetaMissing_DataDeleted()
    {
        var blob = ThreePieceBlob(seed: 46);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        File.Delete(MetaFile(digest));

        var store = await OpenStoreAsync();

        File.Exists(DataFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(0);
    }

    [Fact]
    public async Task InitializeAsync_DataFileWrongLength_PartialDeleted()
    {
        var blob = ThreePieceBlob(seed: 47);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        using (var data = File.OpenWrite(DataFile(digest)))
        {
            data.SetLength(blob.Length - 1);
        }

        await OpenStoreAsync();

        File.Exists(MetaFile(digest)).Should().BeFalse();
    }

    [Fact]
    public async Task InitializeAsync_MetaOfAnotherDigest_PartialDeleted()
    {
        var blob = ThreePieceBlob(seed: 48);
        var digest = Digest.Compute(blob);
        var other = Digest.Compute([1, 2]);
        await LeavePartialAsync(digest, blob, 0);
        File.Move(DataFile(digest), DataFile(other));
        File.Move(MetaFile(digest), MetaFile(other));

        await OpenStoreAsync();

        File.Exists(DataFile(other)).Should().BeFalse();
        File.Exists(MetaFile(other)).Should().BeFalse();
    }

    [Fact]
    public async Task InitializeAsync_LeftoverTempFiles_Removed()
    {
        var blob = ThreePieceBlob(seed: 49);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        Directory.CreateDirectory(Path.Combine(TmpDir, "nested"));
        File.WriteAllBytes(Path.Combine(TmpDir, "put-1-1"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(TmpDir, "nested", "x"), [1]);
        File.WriteAllBytes(MetaFile(digest) + ".tmp", [4, 5, 6]);
        File.WriteAllBytes(Path.Combine(PartialDir, "stray.bin"), [7]);

        var store = await OpenStoreAsync();

        FilesUnder(TmpDir).Should().BeEmpty();
        Directory.GetDirectories(TmpDir).Should().BeEmpty();
        File.Exists(MetaFile(digest) + ".tmp").Should().BeFalse();
        File.Exists(Path.Combine(PartialDir, "stray.bin")).Should().BeFalse();
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        partial.HasPiece(0).Should().BeTrue("an interrupted meta rewrite leaves the previous meta in force");
    }

    [Fact]
    public async Task InitializeAsync_NonDigestNamesInBlobs_RemovedAndValidBlobIndexed()
    {
        var content = RandomBytes(1234, seed: 50);
        var digest = Digest.Compute(content);
        Directory.CreateDirectory(Path.Combine(BlobsDir, "sha256"));
        Directory.CreateDirectory(Path.Combine(BlobsDir, "md5"));
        File.WriteAllBytes(BlobFile(digest), content);
        var junk = new[]
        {
            Path.Combine(BlobsDir, "sha256", "not-a-digest"),
            Path.Combine(BlobsDir, "sha256", digest.Hex.ToUpperInvariant()),
            Path.Combine(BlobsDir, "sha256", digest.Hex[..63]),
            Path.Combine(BlobsDir, "md5", "d41d8cd98f00b204e9800998ecf8427e"),
            Path.Combine(BlobsDir, "stray-file"),
        };
        foreach (var path in junk)
        {
            File.WriteAllBytes(path, [1]);
        }

        var store = await OpenStoreAsync();

        foreach (var path in junk)
        {
            File.Exists(path).Should().BeFalse($"{path} is not a valid committed blob name");
        }

        Directory.Exists(Path.Combine(BlobsDir, "md5")).Should().BeFalse();
        store.Contains(digest).Should().BeTrue();
        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(1234);
        Logger.Has(4).Should().BeTrue();
    }

    [Fact]
    public async Task InitializeAsync_CommittedBlobs_LastAccessFromFileTimeDrivesEviction()
    {
        var older = RandomBytes(1000, seed: 51);
        var newer = RandomBytes(1000, seed: 52);
        Directory.CreateDirectory(Path.Combine(BlobsDir, "sha256"));
        var olderPath = BlobFile(Digest.Compute(older));
        var newerPath = BlobFile(Digest.Compute(newer));
        File.WriteAllBytes(newerPath, newer);
        File.WriteAllBytes(olderPath, older);
        File.SetLastWriteTimeUtc(olderPath, new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        File.SetLastWriteTimeUtc(newerPath, new DateTime(2024, 6, 1, 0, 0, 0, DateTimeKind.Utc));
        var store = await OpenStoreAsync(quotaBytes: 2500);

        var content = RandomBytes(1000, seed: 53);
        await store.PutAsync(Digest.Compute(content), content, CancellationToken.None);

        store.Contains(Digest.Compute(older)).Should().BeFalse("its file time is the oldest");
        store.Contains(Digest.Compute(newer)).Should().BeTrue();
    }

    [Fact]
    public async Task InitializeAsync_CrashAfterCommitRenameBeforeMetaDelete_BlobKeptMetaDeleted()
    {
        var blob = ThreePieceBlob(seed: 54);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0, 1, 2);
        Directory.CreateDirectory(Path.Combine(BlobsDir, "sha256"));
        File.Move(DataFile(digest), BlobFile(digest));

        var store = await OpenStoreAsync();

        store.Contains(digest).Should().BeTrue();
        File.Exists(MetaFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(blob.Length, "the blob is counted once");
    }

    [Fact]
    public async Task InitializeAsync_PartialOfCommittedBlob_PartialDeleted()
    {
        var blob = ThreePieceBlob(seed: 55);
        var digest = Digest.Compute(blob);
        await LeavePartialAsync(digest, blob, 0);
        Directory.CreateDirectory(Path.Combine(BlobsDir, "sha256"));
        File.WriteAllBytes(BlobFile(digest), blob);

        var store = await OpenStoreAsync();

        File.Exists(DataFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(blob.Length);
    }

    [Fact]
    public async Task InitializeAsync_CalledTwice_ThrowsInvalidOperation()
    {
        var store = await OpenStoreAsync();

        var act = () => store.InitializeAsync(CancellationToken.None);

        await act.Should().ThrowAsync<InvalidOperationException>();
    }

    /// <summary>Writes the given pieces with a store instance that is then dropped, as a killed process would.</summary>
    private async Task LeavePartialAsync(Digest digest, byte[] blob, params int[] pieces)
    {
        using var store = new ContentStore(new ContentStoreOptions { RootPath = Root }, Time);
        await store.InitializeAsync(CancellationToken.None);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        foreach (var piece in pieces)
        {
            await WritePieceAsync(partial, blob, piece);
        }
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
