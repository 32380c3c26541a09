using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;
using PeerAgent.Protocol;

namespace PeerAgent.Agent.Peers;

/// <summary>Serves pieces to other agents: of committed blobs, and the present pieces of blobs still downloading.</summary>
/// <remarks>
/// Data path: two pooled chunk buffers alternate, so the next chunk is read from disk while the previous one is
/// being written. Each buffer is wrapped once with <see cref="UnsafeByteOperations.UnsafeWrap"/>: no copy into a
/// ByteString and no allocation per chunk. Reusing a buffer is safe once <c>WriteAsync</c> has completed, because
/// grpc-dotnet serializes the message into the response pipe before it flushes (PipeExtensions.WriteMessageAsync).
/// </remarks>
[BindServiceMethod(typeof(PeerServiceBinding), nameof(PeerServiceBinding.BindService))]
internal sealed class PeerService : Peer.PeerBase
{
    /// <summary>Held pieces per message in the initial SyncPieces listing (~40 bytes each).</summary>
    internal const int AnnouncementBatch = 1024;

    private readonly ContentStore _store;
    private readonly PeerTasks _tasks;
    private readonly CommittedPieceDigests _committedDigests;
    private readonly PeerUploadLimits _limits;
    private readonly int _chunkBytes;
    private readonly int _maxConcurrentUploads;
    private readonly ILogger _logger;

    public PeerService(ContentStore store, PeerTasks tasks, CommittedPieceDigests committedDigests, PeerUploadLimits limits, IOptions<PeerOptions> options, ILogger<PeerService> logger)
    {
        _store = store;
        _tasks = tasks;
        _committedDigests = committedDigests;
        _limits = limits;
        _chunkBytes = options.Value.ChunkBytes;
        _maxConcurrentUploads = options.Value.MaxConcurrentUploads;
        _logger = logger;
    }

    public override async Task SyncPieces(SyncPiecesRequest request, IServerStreamWriter<PieceAnnouncement> responseStream, ServerCallContext context)
    {
        PieceRequests.ThrowIfFailed(PieceRequests.Check(request, out var task));
        var cancellationToken = context.CancellationToken;

        // Subscribe before listing so a piece completing in between is not lost; duplicates are skipped below.
        using var subscription = _tasks.Subscribe(task);
        if (subscription is null)
        {
            await ListCommittedAsync(task, request.ContentLength, responseStream, cancellationToken);
            return;
        }

        var partial = subscription.Partial;
        var layout = partial.Layout;
        CheckLength(request.ContentLength, layout, task);
        var sent = new PieceBitmap(layout.PieceCount);
        var message = NewAnnouncement(layout);
        for (var i = 0; i < layout.PieceCount; i++)
        {
            if (!partial.HasPiece(i))
            {
                continue;
            }

            message.Pieces.Add(new PieceInfo { Index = i, Sha256 = WireMapping.ToWire(partial.GetPieceDigest(i)) });
            sent.Set(i);
            if (message.Pieces.Count == AnnouncementBatch)
            {
                await responseStream.WriteAsync(message, cancellationToken);
                message = NewAnnouncement(layout);
            }
        }

        message.InitialComplete = true;
        await responseStream.WriteAsync(message, cancellationToken);

        await foreach (var piece in subscription.Reader.ReadAllAsync(cancellationToken))
        {
            if (sent[piece.Index])
            {
                continue;
            }

            sent.Set(piece.Index);
            var update = NewAnnouncement(layout);
            update.Pieces.Add(new PieceInfo { Index = piece.Index, Sha256 = WireMapping.ToWire(piece.Sha256) });
            await responseStream.WriteAsync(update, cancellationToken);
        }
    }

    public override async Task DownloadPiece(DownloadPieceRequest request, IServerStreamWriter<PieceChunk> responseStream, ServerCallContext context)
    {
        // Before taking an upload slot: a request that is wrong on its own never queues.
        PieceRequests.ThrowIfFailed(PieceRequests.Check(request, out var task));
        var index = request.PieceIndex;
        var cancellationToken = context.CancellationToken;

        using var slot = await _limits.Slots.AcquireAsync(1, cancellationToken);
        if (!slot.IsAcquired)
        {
            PeerMetrics.UploadsRefused.Inc();
            PeerLog.UploadRefused(_logger, request.TaskDigest, index, _maxConcurrentUploads);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"all {_maxConcurrentUploads} upload slots are busy"));
        }

        BlobReader? reader = null;
        try
        {
            PartialBlob? partial = null;
            PieceLayout layout;
            Digest pieceDigest;
            if (_store.TryOpenRead(task, out reader))
            {
                layout = PieceLayout.For(reader.Length);
                CheckIndex(index, layout, task);
                pieceDigest = await _committedDigests.GetAsync(reader, layout, index, cancellationToken);
            }
            else if (_tasks.TryGetPartial(task, out partial) && HasPiece(partial, index, task))
            {
                layout = partial.Layout;
                pieceDigest = partial.GetPieceDigest(index);
            }
            else
            {
                PeerMetrics.UploadsNotFound.Inc();
                throw new RpcException(new Status(StatusCode.NotFound, $"piece {index} of {task} is not held here"));
            }

            if (!request.ExpectedSha256.IsEmpty && !pieceDigest.Matches(request.ExpectedSha256.Span))
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"piece {index} of {task} here is {pieceDigest}, not the expected one"));
            }

            var header = new PieceHeader
            {
                ContentLength = layout.Length,
                PieceIndex = index,
                PieceOffset = layout.OffsetOf(index),
                PieceLength = layout.LengthOf(index),
                PieceSha256 = WireMapping.ToWire(pieceDigest),
            };
            var source = new PieceSource(_store, task, reader, partial);
            try
            {
                await SendPieceAsync(source, header, responseStream, cancellationToken);
            }
            finally
            {
                reader = source.Reader; // may have switched to the committed blob; disposed below
            }

            PeerMetrics.UploadsServed.Inc();
        }
        catch (ObjectDisposedException)
        {
            // The downloader gave the partial blob up under us (it did not commit); the caller retries elsewhere.
            PeerMetrics.UploadsFailed.Inc();
            throw new RpcException(new Status(StatusCode.Unavailable, $"task {task} closed while piece {index} was being sent"));
        }
        catch (IOException ex)
        {
            PeerMetrics.UploadsFailed.Inc();
            PeerLog.UploadFailed(_logger, request.TaskDigest, index, ex.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, $"reading piece {index} of {task} failed"));
        }
        finally
        {
            reader?.Dispose();
        }
    }

    private async Task SendPieceAsync(PieceSource source, PieceHeader header, IServerStreamWriter<PieceChunk> responseStream, CancellationToken cancellationToken)
    {
        var chunkBytes = (int)Math.Min(_chunkBytes, header.PieceLength);
        var bufferA = ArrayPool<byte>.Shared.Rent(Math.Max(chunkBytes, 1));
        var bufferB = ArrayPool<byte>.Shared.Rent(Math.Max(chunkBytes, 1));
        try
        {
            // Wrapped once each; only a short last chunk needs a new (small) wrapper.
            var wrapA = UnsafeByteOperations.UnsafeWrap(bufferA.AsMemory(0, chunkBytes));
            var wrapB = UnsafeByteOperations.UnsafeWrap(bufferB.AsMemory(0, chunkBytes));
            var message = new PieceChunk { Header = header };
            var offset = header.PieceOffset;
            var remaining = header.PieceLength;

            var current = bufferA;
            var currentWrap = wrapA;
            var read = await source.ReadChunkAsync(offset, current, Math.Min(chunkBytes, remaining), cancellationToken);
            Task? write = null;
            while (true)
            {
                if (_limits.Bandwidth is { } bandwidth && read > 0)
                {
                    using var tokens = await bandwidth.AcquireAsync(read, cancellationToken);
                    if (!tokens.IsAcquired)
                    {
                        throw new RpcException(new Status(StatusCode.ResourceExhausted, "upload bandwidth queue is full"));
                    }
                }

                if (write is not null)
                {
                    await write;
                    message.Header = null;
                }

                message.Data = read == chunkBytes ? currentWrap : UnsafeByteOperations.UnsafeWrap(current.AsMemory(0, read));
                write = responseStream.WriteAsync(message, cancellationToken);
                PeerMetrics.UploadedBytes.Inc(read);
                offset += read;
                remaining -= read;
                if (remaining == 0)
                {
                    break;
                }

                // Read the next chunk into the other buffer while this one is written.
                (current, currentWrap) = ReferenceEquals(current, bufferA) ? (bufferB, wrapB) : (bufferA, wrapA);
                read = await source.ReadChunkAsync(offset, current, Math.Min(chunkBytes, remaining), cancellationToken);
            }

            await write;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bufferA);
            ArrayPool<byte>.Shared.Return(bufferB);
        }
    }

    private async Task ListCommittedAsync(Digest task, long expectedLength, IServerStreamWriter<PieceAnnouncement> responseStream, CancellationToken cancellationToken)
    {
        if (!_store.TryOpenRead(task, out var reader))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"task {task} is not held here"));
        }

        using (reader)
        {
            var layout = PieceLayout.For(reader.Length);
            CheckLength(expectedLength, layout, task);
            var digests = await _committedDigests.GetAllAsync(reader, layout, cancellationToken);
            var message = NewAnnouncement(layout);
            for (var i = 0; i < layout.PieceCount; i++)
            {
                message.Pieces.Add(new PieceInfo { Index = i, Sha256 = ByteString.CopyFrom(digests.Span.Slice(i * 32, 32)) });
                if (message.Pieces.Count == AnnouncementBatch)
                {
                    await responseStream.WriteAsync(message, cancellationToken);
                    message = NewAnnouncement(layout);
                }
            }

            // A committed blob is complete: nothing more will be announced, so the stream ends here.
            message.InitialComplete = true;
            await responseStream.WriteAsync(message, cancellationToken);
        }
    }

    private static PieceAnnouncement NewAnnouncement(PieceLayout layout) =>
        new() { ContentLength = layout.Length, PieceCount = layout.PieceCount };

    private static void CheckIndex(int index, PieceLayout layout, Digest task) =>
        PieceRequests.ThrowIfFailed(PieceRequests.CheckIndex(index, layout, task));

    private static void CheckLength(long expected, PieceLayout layout, Digest task) =>
        PieceRequests.ThrowIfFailed(PieceRequests.CheckLength(expected, layout, task));

    /// <summary>Whether a download still in progress holds the piece; an index past its last piece is OUT_OF_RANGE.</summary>
    private static bool HasPiece(PartialBlob partial, int index, Digest task)
    {
        CheckIndex(index, partial.Layout, task);
        return partial.HasPiece(index);
    }

    /// <summary>
    /// Where a piece's bytes are read from: the committed blob, or the partial file of a download in progress. A
    /// partial that commits while its piece is being sent is closed under us; the same bytes are then read on from
    /// the committed blob, so a parent finishing its own download never breaks a child's piece.
    /// </summary>
    private sealed class PieceSource(ContentStore store, Digest task, BlobReader? reader, PartialBlob? partial)
    {
        public BlobReader? Reader { get; private set; } = reader;

        public async ValueTask<int> ReadChunkAsync(long offset, byte[] buffer, int count, CancellationToken cancellationToken)
        {
            var filled = 0;
            while (filled < count)
            {
                var memory = buffer.AsMemory(filled, count - filled);
                int read;
                if (Reader is { } committed)
                {
                    read = await committed.ReadAsync(offset + filled, memory, cancellationToken);
                }
                else
                {
                    try
                    {
                        read = await partial!.ReadAsync(offset + filled, memory, cancellationToken);
                    }
                    catch (ObjectDisposedException) when (store.TryOpenRead(task, out var now))
                    {
                        Reader = now; // committed meanwhile: the same verified bytes, under their final name
                        continue;
                    }
                }

                if (read == 0)
                {
                    throw new EndOfStreamException($"blob ended at offset {offset + filled} inside a piece");
                }

                filled += read;
            }

            return filled;
        }
    }
}
