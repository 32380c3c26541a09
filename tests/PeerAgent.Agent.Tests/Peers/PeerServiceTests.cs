using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>The peer service over a real Kestrel HTTP/2 listener, driven by <see cref="PeerClient"/> and the raw generated client.</summary>
public sealed class PeerServiceTests
{
    private const int PieceSize = PieceLayout.MinPieceSize;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DownloadPiece_CommittedBlob_WritesExactPieceBytesAndMarksPresent()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random((2 * PieceSize) + 1000);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();
        using var target = host.ClientStore.OpenPartialOrFail(digest, content.Length);

        var reported = new List<int>();
        var got1 = await client.DownloadPieceAsync(target, 1, expected: null, reported.Add, Timeout());
        var got2 = await client.DownloadPieceAsync(target, 2, PeerTestHost.PieceDigest(content, 2, PieceSize), received: null, Timeout());

        reported.Sum().Should().Be(PieceSize, "each chunk's bytes are reported as they are written, so an idle timeout can see progress");
        got1.Should().Be(PeerTestHost.PieceDigest(content, 1, PieceSize));
        got2.Should().Be(PeerTestHost.PieceDigest(content, 2, PieceSize));
        target.HasPiece(0).Should().BeFalse("only pieces 1 and 2 were fetched");
        target.HasPiece(1).Should().BeTrue();
        target.HasPiece(2).Should().BeTrue();
        target.GetPieceDigest(1).Should().Be(got1);
        (await ReadAsync(target, PieceSize, PieceSize)).Should().Equal(PeerTestHost.PieceBytes(content, 1, PieceSize));
        (await ReadAsync(target, 2 * PieceSize, 1000)).Should().Equal(PeerTestHost.PieceBytes(content, 2, PieceSize));
    }

    [Fact]
    public async Task DownloadPiece_RawStream_HeaderFirstThenChunksThatAddUpToThePiece()
    {
        await using var host = await PeerTestHost.StartAsync(new PeerOptions { ChunkBytes = 64 * 1024 });
        var content = TestContent.Random(PieceSize + 5);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();

        using var call = client.Client.DownloadPiece(new DownloadPieceRequest { TaskDigest = digest.ToString(), PieceIndex = 0 }, cancellationToken: Timeout());
        var messages = new List<PieceChunk>();
        await foreach (var message in call.ResponseStream.ReadAllAsync(Timeout()))
        {
            messages.Add(message);
        }

        messages.Should().HaveCount(PieceSize / (64 * 1024), "a 4 MiB piece in 64 KiB chunks");
        var header = messages[0].Header;
        header.Should().NotBeNull();
        header.PieceIndex.Should().Be(0);
        header.PieceOffset.Should().Be(0);
        header.PieceLength.Should().Be(PieceSize);
        header.ContentLength.Should().Be(content.Length);
        Digest.FromHash("sha256", header.PieceSha256.Span).Should().Be(PeerTestHost.PieceDigest(content, 0, PieceSize));
        messages.Skip(1).Should().OnlyContain(m => m.Header == null, "the header is sent once");
        messages.SelectMany(m => m.Data.ToByteArray()).Should().Equal(PeerTestHost.PieceBytes(content, 0, PieceSize));
    }

    [Fact]
    public async Task DownloadPiece_PeerServesCorruptedPiece_ClientRejectsAndPieceStaysAbsent()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random(PieceSize + 1000);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();

        // Let the server learn the true piece digest, then rot a byte of piece 0 on its disk.
        using (var warm = host.ClientStore.OpenPartialOrFail(digest, content.Length))
        {
            await client.DownloadPieceAsync(warm, 1, expected: null, received: null, Timeout());
            await client.DownloadPieceAsync(warm, 0, expected: null, received: null, Timeout());
            warm.Discard();
        }

        await using (var file = new FileStream(host.ServerBlobPath(digest), FileMode.Open, FileAccess.Write))
        {
            file.Position = 12345;
            file.WriteByte((byte)(content[12345] ^ 0x5A));
        }

        using var target = host.ClientStore.OpenPartialOrFail(digest, content.Length);
        var act = () => client.DownloadPieceAsync(target, 0, expected: null, received: null, Timeout());

        (await act.Should().ThrowAsync<PeerPieceException>()).WithInnerException<DigestMismatchException>();
        target.HasPiece(0).Should().BeFalse("a piece that did not verify is never marked present");
        var retry = () => client.DownloadPieceAsync(target, 1, PeerTestHost.PieceDigest(content, 1, PieceSize), received: null, Timeout());
        await retry.Should().NotThrowAsync("the untouched piece still verifies, so the failure was the bad bytes, not the transport");
    }

    [Fact]
    public async Task DownloadPiece_PresentPieceOfBlobStillDownloading_IsServed_AbsentOneIsNotFound()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random(PieceSize + 1000);
        var digest = Digest.Compute(content);
        using var source = host.ServerStore.OpenPartialOrFail(digest, content.Length);
        await WritePieceAsync(source, content, 1);
        using var registration = host.Tasks.Register(source);
        using var client = host.NewClient();
        using var target = host.ClientStore.OpenPartialOrFail(digest, content.Length);

        var got = await client.DownloadPieceAsync(target, 1, expected: null, received: null, Timeout());
        var missing = () => client.DownloadPieceAsync(target, 0, expected: null, received: null, Timeout());

        got.Should().Be(PeerTestHost.PieceDigest(content, 1, PieceSize));
        (await ReadAsync(target, PieceSize, 1000)).Should().Equal(PeerTestHost.PieceBytes(content, 1, PieceSize));
        (await missing.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
        target.HasPiece(0).Should().BeFalse();
    }

    [Fact]
    public async Task DownloadPiece_PartialCommitsWhileItsPieceIsBeingSent_RestComesFromTheCommittedBlob()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random(PieceSize + 1000);
        var digest = Digest.Compute(content);
        var partial = host.ServerStore.OpenPartialOrFail(digest, content.Length);
        await WritePieceAsync(partial, content, 0);
        var registration = host.Tasks.Register(partial);
        var options = new PeerOptions { ChunkBytes = 64 * 1024 };
        var service = new PeerService(host.ServerStore, host.Tasks, new CommittedPieceDigests(host.ServerStore), PeerUploadLimits.Create(options), Options.Create(options), NullLogger<PeerService>.Instance);
        var writer = new GatedStreamWriter<PieceChunk>(m => new PieceChunk { Header = m.Header?.Clone(), Data = ByteString.CopyFrom(m.Data.Span) });
        writer.Close(); // hold the first chunk until the partial has gone

        var upload = service.DownloadPiece(new DownloadPieceRequest { TaskDigest = digest.ToString(), PieceIndex = 0 }, writer, new TestServerCallContext());
        await Wait.UntilAsync(() => writer.Count == 1, Deadline, "the first chunk is out");
        await WritePieceAsync(partial, content, 1);
        await partial.CommitAsync(default);
        registration.Dispose();
        partial.Dispose(); // the downloader lets go: reading the partial now throws ObjectDisposedException
        writer.Open();
        await upload.WaitAsync(Deadline);

        var sent = writer.Written.SelectMany(chunk => chunk.Data.ToByteArray()).ToArray();
        sent.Should().Equal(PeerTestHost.PieceBytes(content, 0, PieceSize));
        writer.Written.Count.Should().BeGreaterThan(2, "most chunks were read after the partial closed");
    }

    [Fact]
    public async Task DownloadPiece_ExpectedDigestDiffersFromHeldPiece_FailedPreconditionAndNothingWritten()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random(1000);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();
        using var target = host.ClientStore.OpenPartialOrFail(digest, content.Length);

        var act = () => client.DownloadPieceAsync(target, 0, Digest.Compute("other bytes"u8), received: null, Timeout());

        (await act.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.FailedPrecondition);
        target.HasPiece(0).Should().BeFalse();
    }

    [Fact]
    public async Task SyncPieces_BlobStillDownloading_ListsHeldPiecesThenStreamsNewlyCompletedOne()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random((2 * PieceSize) + 1000);
        var digest = Digest.Compute(content);
        using var source = host.ServerStore.OpenPartialOrFail(digest, content.Length);
        await WritePieceAsync(source, content, 0);
        var registration = host.Tasks.Register(source);
        using var client = host.NewClient();
        using var call = client.Client.SyncPieces(new SyncPiecesRequest { TaskDigest = digest.ToString(), ContentLength = content.Length }, cancellationToken: Timeout());
        var stream = call.ResponseStream;

        (await stream.MoveNext(Timeout())).Should().BeTrue();
        var initial = stream.Current;
        await WritePieceAsync(source, content, 2);
        host.Tasks.PieceCompleted(digest, 2, source.GetPieceDigest(2));
        (await stream.MoveNext(Timeout())).Should().BeTrue();
        var update = stream.Current;
        registration.Dispose();
        var more = await stream.MoveNext(Timeout());

        initial.InitialComplete.Should().BeTrue();
        initial.PieceCount.Should().Be(3);
        initial.ContentLength.Should().Be(content.Length);
        initial.Pieces.Should().ContainSingle().Which.Index.Should().Be(0);
        Digest.FromHash("sha256", initial.Pieces[0].Sha256.Span).Should().Be(PeerTestHost.PieceDigest(content, 0, PieceSize));
        update.InitialComplete.Should().BeFalse();
        update.Pieces.Should().ContainSingle().Which.Index.Should().Be(2);
        Digest.FromHash("sha256", update.Pieces[0].Sha256.Span).Should().Be(PeerTestHost.PieceDigest(content, 2, PieceSize));
        more.Should().BeFalse("the stream ends when the task is no longer in progress here");
    }

    [Fact]
    public async Task SyncPieces_CommittedBlob_ListsEveryPieceWithDigestAndEnds()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random((2 * PieceSize) + 7);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();

        using var call = client.Client.SyncPieces(new SyncPiecesRequest { TaskDigest = digest.ToString() }, cancellationToken: Timeout());
        var messages = new List<PieceAnnouncement>();
        await foreach (var message in call.ResponseStream.ReadAllAsync(Timeout()))
        {
            messages.Add(message);
        }

        messages.Should().ContainSingle().Which.InitialComplete.Should().BeTrue();
        var pieces = messages[0].Pieces;
        pieces.Select(p => p.Index).Should().Equal(0, 1, 2);
        for (var i = 0; i < 3; i++)
        {
            Digest.FromHash("sha256", pieces[i].Sha256.Span).Should().Be(PeerTestHost.PieceDigest(content, i, PieceSize), $"piece {i}");
        }
    }

    [Fact]
    public async Task SyncPieces_UnknownTaskOrWrongLength_NotFoundOrFailedPrecondition()
    {
        await using var host = await PeerTestHost.StartAsync();
        var content = TestContent.Random(100);
        var digest = await host.CommitOnServerAsync(content);
        using var client = host.NewClient();

        var unknown = await StatusOfSync(client, new SyncPiecesRequest { TaskDigest = Digest.Compute("nothing"u8).ToString() });
        var wrongLength = await StatusOfSync(client, new SyncPiecesRequest { TaskDigest = digest.ToString(), ContentLength = 99 });
        var notADigest = await StatusOfSync(client, new SyncPiecesRequest { TaskDigest = "sha256:xyz" });

        unknown.Should().Be(StatusCode.NotFound);
        wrongLength.Should().Be(StatusCode.FailedPrecondition);
        notADigest.Should().Be(StatusCode.InvalidArgument);
    }

    private static async Task<StatusCode> StatusOfSync(PeerClient client, SyncPiecesRequest request)
    {
        try
        {
            using var call = client.Client.SyncPieces(request, cancellationToken: Timeout());
            await foreach (var unused in call.ResponseStream.ReadAllAsync(Timeout()))
            {
            }

            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    private static async Task WritePieceAsync(PartialBlob blob, byte[] content, int index)
    {
        var writer = blob.BeginPiece(index);
        await writer.WriteAsync(PeerTestHost.PieceBytes(content, index, PieceSize), default);
        await writer.CompleteAsync(null, default);
    }

    private static async Task<byte[]> ReadAsync(PartialBlob blob, long offset, int length)
    {
        var buffer = new byte[length];
        var done = 0;
        while (done < length)
        {
            var read = await blob.ReadAsync(offset + done, buffer.AsMemory(done), default);
            read.Should().BePositive();
            done += read;
        }

        return buffer;
    }
}
