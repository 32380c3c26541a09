using System.Threading.RateLimiting;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>
/// The upload slot and bandwidth limits, calling the service directly with a writer that holds writes open,
/// so "an upload is in progress" is a state the test controls rather than a race with the network.
/// </summary>
public sealed class PeerUploadLimitsTests : IAsyncLifetime
{
    private const int ChunkBytes = 16 * 1024;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new("peerlim");
    private readonly PeerTasks _tasks = new();
    private ContentStore _store = null!;
    private Digest _digest;

    public async Task InitializeAsync()
    {
        _store = new ContentStore(new ContentStoreOptions { RootPath = _dir.Path }, TimeProvider.System);
        await _store.InitializeAsync(default);
        var content = TestContent.Random(3 * ChunkBytes);
        _digest = Digest.Compute(content);
        await _store.PutAsync(_digest, content, default);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task DownloadPiece_AllSlotsBusyAndNoQueue_RefusedWithResourceExhausted_ThenServedOnceFree()
    {
        var limits = PeerUploadLimits.Create(Options(maxConcurrent: 1, maxQueued: 0));
        var service = NewService(limits);
        var holder = NewWriter();
        holder.Close();

        var first = service.DownloadPiece(Request(), holder, new TestServerCallContext());
        await Wait.UntilAsync(() => holder.Count == 1, Deadline, "the first upload has written its first chunk and holds the slot");
        var second = () => service.DownloadPiece(Request(), NewWriter(), new TestServerCallContext());
        (await second.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);

        holder.Open();
        await first.WaitAsync(Deadline);
        var third = NewWriter();
        await service.DownloadPiece(Request(), third, new TestServerCallContext()).WaitAsync(Deadline);
        third.Count.Should().Be(3, "with the slot free again the piece is served in full");
    }

    [Fact]
    public async Task DownloadPiece_SlotsBusyWithQueue_WaitsInQueueThenServed_BeyondQueueRefused()
    {
        var limits = PeerUploadLimits.Create(Options(maxConcurrent: 1, maxQueued: 1));
        var service = NewService(limits);
        var holder = NewWriter();
        holder.Close();
        var first = service.DownloadPiece(Request(), holder, new TestServerCallContext());
        await Wait.UntilAsync(() => holder.Count == 1, Deadline, "the first upload holds the slot");

        var queuedWriter = NewWriter();
        var queued = service.DownloadPiece(Request(), queuedWriter, new TestServerCallContext());
        await Wait.UntilAsync(() => limits.Slots.GetStatistics()!.CurrentQueuedCount == 1, Deadline, "the second upload waits in the queue");
        var overflow = () => service.DownloadPiece(Request(), NewWriter(), new TestServerCallContext());
        (await overflow.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
        queuedWriter.Count.Should().Be(0, "a queued upload sends nothing while it waits");

        holder.Open();
        await Task.WhenAll(first, queued).WaitAsync(Deadline);
        queuedWriter.Count.Should().Be(3);
    }

    [Fact]
    public async Task DownloadPiece_BandwidthTokensRunOut_NextChunkWaitsForReplenishment()
    {
        using var bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = ChunkBytes,
            TokensPerPeriod = ChunkBytes,
            // Manual replenishment adds (elapsed time x rate) tokens; a one-tick period makes any TryReplenish refill the bucket.
            ReplenishmentPeriod = TimeSpan.FromTicks(1),
            AutoReplenishment = false,
            QueueLimit = int.MaxValue,
        });
        var limits = new PeerUploadLimits(new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 4, QueueLimit = 0 }), bucket);
        var service = NewService(limits);
        var writer = NewWriter();

        var upload = service.DownloadPiece(Request(), writer, new TestServerCallContext());
        await Wait.UntilAsync(() => bucket.GetStatistics()!.CurrentQueuedCount == ChunkBytes, Deadline, "the second chunk waits for its tokens (queued count is in tokens, not requests)");
        var beforeReplenish = writer.Count;
        bucket.TryReplenish().Should().BeTrue();
        await Wait.UntilAsync(() => bucket.GetStatistics()!.CurrentQueuedCount == ChunkBytes && writer.Count == 2, Deadline, "the third chunk waits for its tokens");
        bucket.TryReplenish().Should().BeTrue();
        await upload.WaitAsync(Deadline);

        beforeReplenish.Should().Be(1, "one chunk's worth of tokens lets exactly one chunk out");
        writer.Count.Should().Be(3);
    }

    private static PeerOptions Options(int maxConcurrent, int maxQueued) =>
        new() { ChunkBytes = ChunkBytes, MaxConcurrentUploads = maxConcurrent, MaxQueuedUploads = maxQueued };

    private PeerService NewService(PeerUploadLimits limits) =>
        new(_store, _tasks, new CommittedPieceDigests(_store), limits, Microsoft.Extensions.Options.Options.Create(Options(maxConcurrent: 1, maxQueued: 0)), NullLogger<PeerService>.Instance);

    private DownloadPieceRequest Request() => new() { TaskDigest = _digest.ToString(), PieceIndex = 0 };

    private static GatedStreamWriter<PieceChunk> NewWriter() =>
        new(m => new PieceChunk { Header = m.Header?.Clone(), Data = ByteString.CopyFrom(m.Data.Span) });
}
