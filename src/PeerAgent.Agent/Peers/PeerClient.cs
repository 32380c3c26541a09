using System.Net;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;
using PeerAgent.Protocol;

namespace PeerAgent.Agent.Peers;

/// <summary>A piece from a peer failed: the peer is at fault (wrong bytes, wrong framing), not the network.</summary>
internal sealed class PeerPieceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Talks to one peer agent over a tuned HTTP/2 channel; downloads pieces into a <see cref="PartialBlob"/>, verified.</summary>
internal sealed class PeerClient : IParentClient, IDisposable
{
    /// <summary>
    /// Per-stream receive window. The default (768 KiB, then grown by BDP estimates) stalls the sender on every window
    /// update; 8 MiB keeps a whole piece's chunks in flight (BRIEF §7: the second-largest gain). The maximum is 16 MiB.
    /// </summary>
    internal const int StreamWindowBytes = 8 * 1024 * 1024;

    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;
    private readonly ILogger _logger;
    private readonly string _peer;

    public PeerClient(Uri address, Action<SocketsHttpHandler>? configureHandler = null, ILogger<PeerClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var handler = new SocketsHttpHandler
        {
            InitialHttp2StreamWindowSize = StreamWindowBytes,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        configureHandler?.Invoke(handler);
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = PeerOptions.MaxChunkBytes + PeerOptions.MessageOverheadBytes,
            MaxSendMessageSize = 64 * 1024,
        });
        _invoker = _channel.CreateCallInvoker();
        Client = new Peer.PeerClient(_invoker);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _peer = address.Authority;
    }

    /// <summary>The generated client, for tests.</summary>
    public Peer.PeerClient Client { get; }

    public async IAsyncEnumerable<PieceAnnouncement> SyncPiecesAsync(Digest task, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = Client.SyncPieces(new SyncPiecesRequest { TaskDigest = task.ToString(), ContentLength = length }, cancellationToken: cancellationToken);
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            yield return call.ResponseStream.Current;
        }
    }

    /// <summary>
    /// Downloads piece <paramref name="index"/> of <paramref name="target"/> and marks it present only if its sha256
    /// matches: <paramref name="expected"/> when given (from the scheduler or SyncPieces), else the digest the peer
    /// sent, which still catches corruption in transit and the whole-blob digest catches the rest at commit.
    /// </summary>
    /// <exception cref="PeerPieceException">The peer sent bytes that do not verify or do not fit the piece; avoid it.</exception>
    /// <exception cref="RpcException">The call failed (not found, busy, unreachable); try another peer.</exception>
    public async Task<Digest> DownloadPieceAsync(PartialBlob target, int index, Digest? expected, Action<int>? received, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var layout = target.Layout;
        var offset = layout.OffsetOf(index);
        var length = layout.LengthOf(index);
        var request = new DownloadPieceRequest { TaskDigest = target.Digest.ToString(), PieceIndex = index };
        if (expected is { } e)
        {
            request.ExpectedSha256 = WireMapping.ToWire(e);
        }

        using var call = OpenPiece(request, cancellationToken);
        var stream = call.ResponseStream;
        if (!await stream.MoveNext(cancellationToken))
        {
            throw new PeerPieceException($"peer {_peer} ended piece {index} of {target.Digest} without a header");
        }

        PieceWriter writer;
        using (var first = stream.Current)
        {
            var header = first.Header
                ?? throw new PeerPieceException($"peer {_peer} sent piece {index} of {target.Digest} without a header");
            if (header.PieceIndex != index || header.ContentLength != layout.Length || header.PieceOffset != offset || header.PieceLength != length || !WireMapping.TryFromWire(header.PieceSha256, out var announced))
            {
                throw new PeerPieceException($"peer {_peer} sent a header for piece {header.PieceIndex} ({header.PieceOffset}+{header.PieceLength} of {header.ContentLength}) when asked for piece {index} ({offset}+{length} of {layout.Length})");
            }

            if (expected is { } wanted && wanted != announced)
            {
                throw new PeerPieceException($"peer {_peer} offers piece {index} of {target.Digest} as {announced}, expected {wanted}");
            }

            expected ??= announced;
            writer = target.BeginPiece(index);
            await WriteChunkAsync(writer, first, index, target, cancellationToken);
            received?.Invoke(first.Length);
        }

        while (await stream.MoveNext(cancellationToken))
        {
            using var chunk = stream.Current;
            await WriteChunkAsync(writer, chunk, index, target, cancellationToken);
            received?.Invoke(chunk.Length);
        }

        if (writer.Written != length)
        {
            throw new PeerPieceException($"peer {_peer} sent {writer.Written} of the {length} bytes of piece {index} of {target.Digest}");
        }

        try
        {
            return await writer.CompleteAsync(expected, cancellationToken);
        }
        catch (DigestMismatchException ex)
        {
            PeerMetrics.DigestMismatches.Inc();
            PeerLog.PieceDigestMismatch(_logger, _peer, target.Digest.ToString(), index, ex.Message);
            throw new PeerPieceException($"piece {index} of {target.Digest} from peer {_peer} did not verify: {ex.Message}", ex);
        }
    }

    /// <summary>The raw <c>DownloadPiece</c> call with pooled chunks (dispose each); <see cref="DownloadPieceAsync"/> is the checked way.</summary>
    internal AsyncServerStreamingCall<PooledPieceChunk> OpenPiece(DownloadPieceRequest request, CancellationToken cancellationToken) =>
        _invoker.AsyncServerStreamingCall(PooledPieceChunk.DownloadPieceMethod, host: null, new CallOptions(cancellationToken: cancellationToken), request);

    public void Dispose() => _channel.Dispose();

    private async Task WriteChunkAsync(PieceWriter writer, PooledPieceChunk chunk, int index, PartialBlob target, CancellationToken cancellationToken)
    {
        if (chunk.Length == 0)
        {
            return;
        }

        if (chunk.Length > writer.Length - writer.Written)
        {
            throw new PeerPieceException($"peer {_peer} sent more than the {writer.Length} bytes of piece {index} of {target.Digest}");
        }

        await writer.WriteAsync(chunk.Data, cancellationToken);
        PeerMetrics.DownloadedBytes.Inc(chunk.Length);
    }
}
