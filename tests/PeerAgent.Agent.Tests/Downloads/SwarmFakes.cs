using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Downloads;

/// <summary>A scheduler session the test drives: it pushes decisions and reads the download's reports.</summary>
internal sealed class FakeSession : ISchedulerSession
{
    private readonly Channel<AnnounceResponse> _decisions = Channel.CreateUnbounded<AnnounceResponse>();

    public ChannelReader<AnnounceResponse> Decisions => _decisions.Reader;

    public bool IsBroken => _decisions.Reader.Completion.IsCompleted;

    public ConcurrentQueue<int> Finished { get; } = new();

    public ConcurrentQueue<(int Index, string Parent, bool Corrupt)> PieceFailures { get; } = new();

    public ConcurrentQueue<string> ParentFailures { get; } = new();

    public int Reschedules => _reschedules;

    private int _reschedules;

    public void Decide(AnnounceResponse decision) => _decisions.Writer.TryWrite(decision);

    public void Break() => _decisions.Writer.TryComplete();

    public void PieceFinished(int index, Digest sha256) => Finished.Enqueue(index);

    public void PieceFailed(int index, string parentHostId, bool corrupt) => PieceFailures.Enqueue((index, parentHostId, corrupt));

    public void ParentFailed(string parentHostId) => ParentFailures.Enqueue(parentHostId);

    public void Reschedule() => Interlocked.Increment(ref _reschedules);

    public static AnnounceResponse Parents(params FakeParent[] parents)
    {
        var decision = new ParentsDecision();
        decision.Parents.AddRange(parents.Select(p => p.Peer));
        return new AnnounceResponse { Parents = decision };
    }

    public static AnnounceResponse BackToSource(int start = 0, int end = 0) =>
        new() { BackToSource = new BackToSourceDecision { PieceStart = start, PieceEnd = end } };
}

/// <summary>What a fake parent does when asked for a piece.</summary>
internal enum ParentBehaviour
{
    Serve,
    Corrupt,
    Refuse,
    Hang,

    /// <summary>Stores the piece, then does not return until cancelled (as if the store were slow to settle it).</summary>
    StoreThenHang,

    /// <summary>Sends each piece in <see cref="FakeParent.DripChunks"/> chunks, <see cref="FakeParent.DripInterval"/> apart on its clock (a slow, steady link).</summary>
    Drip,
}

/// <summary>A parent agent that holds <see cref="Content"/> and announces and serves pieces as the test says.</summary>
internal sealed class FakeParent : IParentClient
{
    private readonly Channel<PieceAnnouncement> _announcements = Channel.CreateUnbounded<PieceAnnouncement>();
    private readonly PieceLayout _layout;
    private int _syncCalls;

    public FakeParent(string hostId, byte[] content)
    {
        Content = content;
        _layout = PieceLayout.For(content.Length);
        Peer = new ParentPeer { HostId = hostId, PeerAddress = $"http://{hostId}.test:65002" };
    }

    public byte[] Content { get; }

    public ParentPeer Peer { get; }

    public ParentBehaviour Behaviour { get; set; } = ParentBehaviour.Serve;

    /// <summary>The clock <see cref="ParentBehaviour.Drip"/> waits on.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public int DripChunks { get; init; } = 5;

    public TimeSpan DripInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Piece indexes asked for, in order.</summary>
    public ConcurrentQueue<int> Requests { get; } = new();

    public int SyncCalls => _syncCalls;

    /// <summary>Announces these pieces (the initial listing, or later ones).</summary>
    public FakeParent Announce(params int[] pieces)
    {
        var message = new PieceAnnouncement { ContentLength = _layout.Length, PieceCount = _layout.PieceCount, InitialComplete = true };
        foreach (var index in pieces)
        {
            var sha = System.Security.Cryptography.SHA256.HashData(Content.AsSpan((int)_layout.OffsetOf(index), _layout.LengthOf(index)));
            message.Pieces.Add(new PieceInfo { Index = index, Sha256 = ByteString.CopyFrom(sha) });
        }

        _announcements.Writer.TryWrite(message);
        return this;
    }

    public FakeParent AnnounceAll() => Announce([.. Enumerable.Range(0, _layout.PieceCount)]);

    /// <summary>Ends its SyncPieces stream normally, as a parent does when its own download commits.</summary>
    public void EndSync() => _announcements.Writer.TryComplete();

    public async IAsyncEnumerable<PieceAnnouncement> SyncPiecesAsync(Digest task, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _syncCalls);
        await foreach (var message in _announcements.Reader.ReadAllAsync(cancellationToken))
        {
            yield return message;
        }
    }

    public async Task<Digest> DownloadPieceAsync(PartialBlob target, int index, Digest? expected, Action<int>? received, CancellationToken cancellationToken)
    {
        Requests.Enqueue(index);
        await Task.Yield();
        switch (Behaviour)
        {
            case ParentBehaviour.Corrupt:
                throw new PeerPieceException($"piece {index} from {Peer.HostId} did not verify");
            case ParentBehaviour.Refuse:
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "a different piece here"));
            case ParentBehaviour.Hang:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
        }

        var writer = target.BeginPiece(index);
        var bytes = Content.AsMemory((int)_layout.OffsetOf(index), _layout.LengthOf(index));
        if (Behaviour == ParentBehaviour.Drip)
        {
            var size = (bytes.Length + DripChunks - 1) / DripChunks;
            for (var sent = 0; sent < bytes.Length; sent += size)
            {
                await Task.Delay(DripInterval, Time, cancellationToken);
                var chunk = bytes[sent..Math.Min(bytes.Length, sent + size)];
                await writer.WriteAsync(chunk, cancellationToken);
                received?.Invoke(chunk.Length);
            }
        }
        else
        {
            await writer.WriteAsync(bytes, cancellationToken);
            received?.Invoke(bytes.Length);
        }

        var digest = await writer.CompleteAsync(expected, cancellationToken);
        if (Behaviour == ParentBehaviour.StoreThenHang)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return digest;
    }
}

internal sealed class FakeParents(params FakeParent[] parents) : IParentClients
{
    public IParentClient Get(string address) => parents.Single(p => p.Peer.PeerAddress == address);
}

/// <summary>The origin behind the opener: serves ranges of <see cref="Content"/>, or a body that yields nothing.</summary>
internal sealed class FakeOrigin(byte[] content)
{
    public byte[] Content { get; } = content;

    /// <summary>When true, bodies never yield a byte (until the reader gives up).</summary>
    public bool Stalled { get; set; }

    public int Opens => _opens;

    /// <summary>Completes when a stalled body's read was cancelled (the lane was stopped).</summary>
    public TaskCompletionSource ReadCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _opens;

    public Task<HttpResponseMessage> OpenAsync(long first, long last, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _opens);
        Stream body = Stalled ? new StalledStream(this) : new MemoryStream(Content, (int)first, (int)(last - first + 1));
        var response = new HttpResponseMessage(first == 0 ? HttpStatusCode.OK : HttpStatusCode.PartialContent) { Content = new StreamContent(body) };
        return Task.FromResult(response);
    }

    private sealed class StalledStream(FakeOrigin origin) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                origin.ReadCancelled.TrySetResult();
                throw;
            }

            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Records what a fill reports upward.</summary>
internal sealed class RecordingProgress : IFillProgress
{
    public ConcurrentQueue<int> Stored { get; } = new();

    public long Available => Interlocked.Read(ref _available);

    private long _available;

    public void Streamed(long available) => Interlocked.Exchange(ref _available, Math.Max(available, Available));

    public void PieceStored(int index, Digest sha256) => Stored.Enqueue(index);
}
