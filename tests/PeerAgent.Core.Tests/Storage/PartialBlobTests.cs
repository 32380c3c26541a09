using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Core.Tests.TestSupport;

namespace PeerAgent.Core.Tests.Storage;

public class PartialBlobTests : StoreTestBase
{
    [Fact]
    public async Task CommitAsync_PiecesWrittenInOrder_BlobAtDigestPathWithSameBytes()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob();
        var digest = Digest.Compute(blob);

        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            partial.Layout.PieceCount.Should().Be(3);
            for (var i = 0; i < 3; i++)
            {
                await WritePieceAsync(partial, blob, i);
            }

            await partial.CommitAsync(CancellationToken.None);
            partial.IsCommitted.Should().BeTrue();
            partial.ReadBackBytes.Should().Be(0, "bytes written in order are hashed once, while writing");
        }

        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
        FilesUnder(PartialDir).Should().BeEmpty("data is renamed and meta deleted on commit");
        store.Contains(digest).Should().BeTrue();
        store.BlobCount.Should().Be(1);
        store.UsedBytes.Should().Be(blob.Length + new FileInfo(BlobMetaFile(digest)).Length, "the blob and its metadata (piece digests) count");
    }

    [Fact]
    public async Task CommitAsync_PiecesWrittenOutOfOrder_Commits()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 2);
        var digest = Digest.Compute(blob);

        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            await WritePieceAsync(partial, blob, 2);
            await WritePieceAsync(partial, blob, 0);
            partial.FirstMissingPiece().Should().Be(1);
            await WritePieceAsync(partial, blob, 1);
            await partial.CommitAsync(CancellationToken.None);
            partial.ReadBackBytes.Should().Be(partial.Layout.LengthOf(2), "only the piece completed ahead of its turn is read back");
        }

        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task CommitAsync_PiecesWrittenConcurrently_Commits()
    {
        var store = await OpenStoreAsync();
        var blob = RandomBytes((5 * Piece) + 17, seed: 3);
        var digest = Digest.Compute(blob);

        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            var tasks = new Task[partial.Layout.PieceCount];
            for (var i = 0; i < tasks.Length; i++)
            {
                var index = i;
                tasks[i] = Task.Run(() => WritePieceAsync(partial, blob, index, chunk: 64 * 1024));
            }

            await Task.WhenAll(tasks);
            await partial.CommitAsync(CancellationToken.None);
        }

        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task CommitAsync_Sha512Digest_CommitsUnderSha512()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 4);
        var digest = Digest.Compute(blob, "sha512");

        using (var partial = store.OpenPartialOrFail(digest, blob.Length))
        {
            await WritePieceAsync(partial, blob, 1);
            await WritePieceAsync(partial, blob, 0);
            await WritePieceAsync(partial, blob, 2);
            partial.GetPieceDigest(1).Algorithm.Should().Be("sha256", "piece digests are always sha256");
            await partial.CommitAsync(CancellationToken.None);
        }

        File.ReadAllBytes(Path.Combine(BlobsDir, "sha512", digest.Hex)).Should().Equal(blob);
    }

    [Fact]
    public async Task CommitAsync_EmptyBlob_Commits()
    {
        var store = await OpenStoreAsync();
        var digest = Digest.Compute([]);

        using (var partial = store.OpenPartialOrFail(digest, 0))
        {
            partial.IsComplete.Should().BeTrue();
            await partial.CommitAsync(CancellationToken.None);
        }

        new FileInfo(BlobFile(digest)).Length.Should().Be(0);
        store.Contains(digest).Should().BeTrue();
    }

    [Fact]
    public async Task CommitAsync_WrongWholeDigest_ThrowsAndLeavesNothingBehind()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 5);
        var claimed = Digest.Compute(RandomBytes(10, seed: 6));

        using (var partial = store.OpenPartialOrFail(claimed, blob.Length))
        {
            for (var i = 0; i < 3; i++)
            {
                await WritePieceAsync(partial, blob, i);
            }

            var act = () => partial.CommitAsync(CancellationToken.None);

            var thrown = await act.Should().ThrowAsync<DigestMismatchException>();
            thrown.Which.Expected.Should().Be(claimed);
            thrown.Which.Actual.Should().Be(Digest.Compute(blob));
        }

        FilesUnder(BlobsDir).Should().BeEmpty("nothing unverified may reach blobs/");
        FilesUnder(PartialDir).Should().BeEmpty("a mismatching partial is deleted");
        store.Contains(claimed).Should().BeFalse();
        store.UsedBytes.Should().Be(0, "the reservation is released");
        Logger.Has(6).Should().BeTrue("the mismatch is logged");
    }

    [Fact]
    public async Task CommitAsync_MissingPiece_ThrowsInvalidOperation()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 7);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        await WritePieceAsync(partial, blob, 0);
        await WritePieceAsync(partial, blob, 2);

        var act = () => partial.CommitAsync(CancellationToken.None);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*piece 1*");
        FilesUnder(BlobsDir).Should().BeEmpty();
    }

    [Fact]
    public async Task CompleteAsync_WrongExpectedPieceDigest_ThrowsAndPieceStaysAbsent()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 8);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);

        var act = () => WritePieceAsync(partial, blob, 1, expected: PieceDigest(blob, 0));

        await act.Should().ThrowAsync<DigestMismatchException>();
        partial.HasPiece(1).Should().BeFalse();
        partial.Invoking(p => p.GetPieceDigest(1)).Should().Throw<InvalidOperationException>();

        // The piece can be fetched again, and the right bytes are accepted.
        (await WritePieceAsync(partial, blob, 1, expected: PieceDigest(blob, 1))).Should().Be(PieceDigest(blob, 1));
        partial.HasPiece(1).Should().BeTrue();
    }

    [Fact]
    public async Task CompleteAsync_WrongDigestOnStreamedPiece_WholeHashStillCorrectAfterRetry()
    {
        // Piece 0 is the one streamed into the whole-blob hasher; a bad attempt must not pollute it.
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 9);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        var wrong = (byte[])blob.Clone();
        wrong[5] ^= 0xFF;

        var act = () => WritePieceAsync(partial, wrong, 0, expected: PieceDigest(blob, 0));
        await act.Should().ThrowAsync<DigestMismatchException>();
        for (var i = 0; i < 3; i++)
        {
            await WritePieceAsync(partial, blob, i, expected: PieceDigest(blob, i));
        }

        await partial.CommitAsync(CancellationToken.None);
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task BeginPiece_AgainAfterHalfWrittenAttempt_SupersedesOldWriter()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 10);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        var garbage = RandomBytes(1000, seed: 11);
        var first = partial.BeginPiece(0);
        await first.WriteAsync(garbage, CancellationToken.None);

        for (var i = 0; i < 3; i++)
        {
            await WritePieceAsync(partial, blob, i);
        }

        var stale = () => first.WriteAsync(garbage, CancellationToken.None).AsTask();
        await stale.Should().ThrowAsync<InvalidOperationException>("a superseded writer must not write over the new bytes");
        await partial.CommitAsync(CancellationToken.None);
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task CompleteAsync_ShortPiece_ThrowsInvalidOperation()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 12);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        var writer = partial.BeginPiece(2);
        await writer.WriteAsync(PieceOf(blob, 2)[..10], CancellationToken.None);

        var act = () => writer.CompleteAsync(null, CancellationToken.None).AsTask();

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*10 of 1000*");
        partial.HasPiece(2).Should().BeFalse();
    }

    [Fact]
    public async Task WriteAsync_BeyondPieceLength_ThrowsArgument()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 13);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        var writer = partial.BeginPiece(2);

        var act = () => writer.WriteAsync(new byte[1001], CancellationToken.None).AsTask();

        await act.Should().ThrowAsync<ArgumentException>();
        writer.Written.Should().Be(0);
    }

    [Fact]
    public async Task BeginPiece_PresentPiece_ThrowsInvalidOperation()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 14);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        await WritePieceAsync(partial, blob, 0);

        partial.Invoking(p => p.BeginPiece(0)).Should().Throw<InvalidOperationException>().WithMessage("*already present*");
    }

    [Fact]
    public async Task ReadAsync_WhileAnotherPieceIsBeingWritten_ReturnsWrittenBytes()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 15);
        using var partial = store.OpenPartialOrFail(Digest.Compute(blob), blob.Length);
        await WritePieceAsync(partial, blob, 0);
        var writer = partial.BeginPiece(1);
        var piece1 = PieceOf(blob, 1);
        using var stop = new CancellationTokenSource();

        var reader = Task.Run(async () =>
        {
            var reads = 0;
            while (!stop.IsCancellationRequested || reads == 0)
            {
                var offset = (reads * 7919) % (Piece - 4096);
                (await ReadRangeAsync(partial, offset, 4096)).Should().Equal(blob.AsSpan(offset, 4096).ToArray());
                reads++;
            }

            return reads;
        });

        const int Chunk = 128 * 1024;
        for (var offset = 0; offset < piece1.Length; offset += Chunk)
        {
            await writer.WriteAsync(piece1.Slice(offset, Chunk), CancellationToken.None);
            if (offset == Piece / 2)
            {
                // Half of piece 1 is on disk: those bytes are readable before the piece completes.
                (await ReadRangeAsync(partial, Piece, 1000)).Should().Equal(blob.AsSpan(Piece, 1000).ToArray());
            }
        }

        await writer.CompleteAsync(PieceDigest(blob, 1), CancellationToken.None);
        await stop.CancelAsync();
        (await reader).Should().BePositive();
        (await ReadRangeAsync(partial, Piece - 10, 20)).Should().Equal(blob.AsSpan(Piece - 10, 20).ToArray());
    }

    [Fact]
    public async Task ReadAsync_AfterCommit_KeepsReadingUntilDisposed()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 16);
        var partial = Track(store.OpenPartialOrFail(Digest.Compute(blob), blob.Length));
        for (var i = 0; i < 3; i++)
        {
            await WritePieceAsync(partial, blob, i);
        }

        await partial.CommitAsync(CancellationToken.None);

        (await ReadRangeAsync(partial, blob.Length - 1000, 1000)).Should().Equal(blob.AsSpan(blob.Length - 1000).ToArray());
        (await partial.ReadAsync(blob.Length, new byte[10], CancellationToken.None)).Should().Be(0, "reads at the end return 0");
        partial.Dispose();
        var act = () => partial.ReadAsync(0, new byte[10], CancellationToken.None).AsTask();
        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task OpenPartial_AfterDispose_ResumesPresentPieces()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 17);
        var digest = Digest.Compute(blob);
        using (var first = store.OpenPartialOrFail(digest, blob.Length))
        {
            await WritePieceAsync(first, blob, 0);
            await WritePieceAsync(first, blob, 2);
        }

        store.UsedBytes.Should().Be(blob.Length, "a closed partial still holds its disk space");
        using var resumed = store.OpenPartialOrFail(digest, blob.Length);

        resumed.HasPiece(0).Should().BeTrue();
        resumed.HasPiece(1).Should().BeFalse();
        resumed.HasPiece(2).Should().BeTrue();
        resumed.GetPieceDigest(2).Should().Be(PieceDigest(blob, 2));
        await WritePieceAsync(resumed, blob, 1);
        await resumed.CommitAsync(CancellationToken.None);
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task OpenPartial_OnNewStoreAfterRestart_ResumesPresentPieces()
    {
        var blob = ThreePieceBlob(seed: 18);
        var digest = Digest.Compute(blob);
        using (var before = new ContentStore(new ContentStoreOptions { RootPath = Root }, Time))
        {
            await before.InitializeAsync(CancellationToken.None);
            using var partial = before.OpenPartialOrFail(digest, blob.Length);
            await WritePieceAsync(partial, blob, 1);
        }

        var after = await OpenStoreAsync();
        after.UsedBytes.Should().Be(blob.Length);
        using var resumed = after.OpenPartialOrFail(digest, blob.Length);

        resumed.HasPiece(1).Should().BeTrue();
        resumed.FirstMissingPiece().Should().Be(0);
        await WritePieceAsync(resumed, blob, 0);
        await WritePieceAsync(resumed, blob, 2);
        await resumed.CommitAsync(CancellationToken.None);
        File.ReadAllBytes(BlobFile(digest)).Should().Equal(blob);
    }

    [Fact]
    public async Task Dispose_PieceWrittenButNotCompleted_NotPresentAfterResume()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 19);
        var digest = Digest.Compute(blob);
        using (var first = store.OpenPartialOrFail(digest, blob.Length))
        {
            var writer = first.BeginPiece(0);
            await writer.WriteAsync(PieceOf(blob, 0), CancellationToken.None);
        }

        using var resumed = store.OpenPartialOrFail(digest, blob.Length);

        resumed.HasPiece(0).Should().BeFalse("a piece is present only after CompleteAsync");
    }

    [Fact]
    public async Task TryOpenPartial_SameDigestWhileOpen_BusyUntilClosedThenOpened()
    {
        var store = await OpenStoreAsync();
        var digest = Digest.Compute([1, 2, 3]);
        var first = store.OpenPartialOrFail(digest, 3);

        store.TryOpenPartial(digest, 3, out var busy).Should().Be(PartialOpenResult.Busy);
        busy.Should().BeNull();
        first.Dispose();
        using var second = store.OpenPartialOrFail(digest, 3);
        second.Digest.Should().Be(digest);
    }

    [Fact]
    public async Task TryOpenPartial_SameDigestFromManyThreads_ExactlyOneOpensOthersBusy()
    {
        var store = await OpenStoreAsync();
        var digest = Digest.Compute([4, 5, 6]);
        var winners = new System.Collections.Concurrent.ConcurrentBag<PartialBlob>();
        var losers = 0;

        Parallel.For(0, 16, _ =>
        {
            var result = store.TryOpenPartial(digest, 3, out var partial);
            if (result == PartialOpenResult.Opened)
            {
                winners.Add(partial!);
            }
            else if (result == PartialOpenResult.Busy)
            {
                Interlocked.Increment(ref losers);
            }
        });

        winners.Should().ContainSingle();
        losers.Should().Be(15);
        foreach (var winner in winners)
        {
            winner.Dispose();
        }
    }

    [Fact]
    public async Task TryOpenPartial_AlreadyCommitted_Committed()
    {
        var store = await OpenStoreAsync();
        var content = RandomBytes(100, seed: 20);
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, CancellationToken.None);

        store.TryOpenPartial(digest, content.Length, out var partial).Should().Be(PartialOpenResult.Committed);
        partial.Should().BeNull();
    }

    [Fact]
    public async Task OpenPartial_DifferentLengthThanOnDisk_StartsOver()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 21);
        var digest = Digest.Compute(blob);
        using (var first = store.OpenPartialOrFail(digest, blob.Length + 5))
        {
            await first.BeginPiece(0).WriteAsync(PieceOf(blob, 0), CancellationToken.None);
            await WritePieceAsync(first, blob, 1);
        }

        using var second = store.OpenPartialOrFail(digest, blob.Length);

        second.Layout.Length.Should().Be(blob.Length);
        second.HasPiece(1).Should().BeFalse("pieces of a different length claim are not reused");
        new FileInfo(DataFile(digest)).Length.Should().Be(blob.Length);
        store.UsedBytes.Should().Be(blob.Length, "the old reservation was released");
    }

    [Fact]
    public async Task Discard_OpenPartial_DeletesFilesAndReleasesSpace()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 22);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);
        await WritePieceAsync(partial, blob, 0);
        store.UsedBytes.Should().Be(blob.Length);

        partial.Discard();

        File.Exists(DataFile(digest)).Should().BeFalse();
        File.Exists(MetaFile(digest)).Should().BeFalse();
        store.UsedBytes.Should().Be(0);
        partial.Invoking(p => p.BeginPiece(1)).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public async Task CompleteAsync_EachPiece_MetaOnDiskRecordsIt()
    {
        var store = await OpenStoreAsync();
        var blob = ThreePieceBlob(seed: 23);
        var digest = Digest.Compute(blob);
        using var partial = store.OpenPartialOrFail(digest, blob.Length);

        await WritePieceAsync(partial, blob, 2);

        var error = PartialMeta.TryRead(File.ReadAllBytes(MetaFile(digest)), out var metaDigest, out var layout, out var bitmap, out var hashes);
        error.Should().BeNull();
        metaDigest.Should().Be(digest);
        layout.Should().Be(partial.Layout);
        bitmap![2].Should().BeTrue();
        bitmap[0].Should().BeFalse();
        Digest.FromHash("sha256", hashes.AsSpan(64, 32)).Should().Be(PieceDigest(blob, 2));
    }
}
