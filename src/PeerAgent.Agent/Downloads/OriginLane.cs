using System.Buffers;
using System.Net;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Observability;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>Opens the origin's body of the blob from byte <c>first</c> to byte <c>last</c> (inclusive), with the client's credentials.</summary>
internal delegate Task<HttpResponseMessage> OriginRangeOpener(long first, long last, CancellationToken cancellationToken);

/// <summary>
/// The origin as a piece source: reads a run of pieces in one sequential body (HTTP Range when it does not start
/// at 0), storing each piece that is neither present nor claimed by a peer worker and skipping the others' bytes.
/// A broken or idle body is resumed by Range at the first piece still open, a bounded number of times.
/// </summary>
internal sealed class OriginLane
{
    private const int ChunkSize = 128 * 1024;
    private static readonly TimeSpan PeerWait = TimeSpan.FromMilliseconds(200);

    private readonly PartialBlob _partial;
    private readonly PieceClaims _claims;
    private readonly OriginRangeOpener _open;
    private readonly IFillProgress _progress;
    private readonly AsyncPulse _changed;
    private readonly int _maxResumes;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _storedBytes;

    public OriginLane(
        PartialBlob partial,
        PieceClaims claims,
        OriginRangeOpener open,
        IFillProgress progress,
        AsyncPulse changed,
        int maxResumes,
        TimeSpan idleTimeout,
        TimeProvider time,
        ILogger logger)
    {
        _partial = partial;
        _claims = claims;
        _open = open;
        _progress = progress;
        _changed = changed;
        _maxResumes = maxResumes;
        _idleTimeout = idleTimeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>Bytes of piece data read from the origin and stored.</summary>
    public long StoredBytes => Interlocked.Read(ref _storedBytes);

    /// <summary>
    /// Returns when every piece in [<paramref name="start"/>, <paramref name="end"/>) is present. Pieces a peer
    /// worker holds are left to it; if it gives one up, this lane takes it. <paramref name="first"/> is an
    /// already open 200 response for the whole blob (it is disposed here), or null to open a Range.
    /// </summary>
    public async Task RunAsync(int start, int end, HttpResponseMessage? first, CancellationToken cancellationToken)
    {
        var layout = _partial.Layout;
        var response = first;
        var resumes = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var idle = new IdleTimeout(_idleTimeout, _time, cancellationToken);
        try
        {
            while (true)
            {
                var piece = _claims.FirstOpen(_partial, start, end);
                if (piece < 0)
                {
                    if (AllPresent(start, end))
                    {
                        return;
                    }

                    // Peers hold the rest; wake when one of them finishes or gives a piece up.
                    response?.Dispose();
                    response = null;
                    await _changed.WaitAsync(PeerWait, _time, cancellationToken);
                    continue;
                }

                var endOffset = layout.OffsetOf(end - 1) + layout.LengthOf(end - 1);
                long position; // blob offset of the next byte the body yields
                if (response is null)
                {
                    response = await _open(layout.OffsetOf(piece), endOffset - 1, cancellationToken);
                    position = response.StatusCode == HttpStatusCode.PartialContent ? layout.OffsetOf(piece) : 0;
                }
                else
                {
                    position = 0; // the first response: the whole body from its start
                }

                try
                {
                    var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    for (var p = piece; p < end; p++)
                    {
                        var pieceStart = layout.OffsetOf(p);
                        var pieceLength = layout.LengthOf(p);
                        await SkipAsync(stream, pieceStart - position, buffer, idle);
                        position = pieceStart;
                        if (_partial.HasPiece(p) || !_claims.TryClaim(p))
                        {
                            await SkipAsync(stream, pieceLength, buffer, idle);
                            position += pieceLength;
                            continue;
                        }

                        try
                        {
                            var digest = await StorePieceAsync(stream, p, buffer, idle, cancellationToken);
                            position += pieceLength;
                            Interlocked.Add(ref _storedBytes, pieceLength);
                            _progress.PieceStored(p, digest);
                        }
                        finally
                        {
                            _claims.Release(p);
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException
                                           && !cancellationToken.IsCancellationRequested && resumes < _maxResumes)
                {
                    resumes++;
                    idle.Reset();
                    var at = _claims.FirstOpen(_partial, start, end);
                    MirrorLog.ResumingBlob(_logger, _partial.Digest.ToString(), at < 0 ? position : layout.OffsetOf(at), resumes, ex.Message);
                }

                response.Dispose();
                response = null;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            response?.Dispose();
            idle.Dispose();
        }
    }

    private async Task<Digest> StorePieceAsync(Stream stream, int piece, byte[] buffer, IdleTimeout idle, CancellationToken cancellationToken)
    {
        var layout = _partial.Layout;
        var pieceStart = layout.OffsetOf(piece);
        var pieceLength = layout.LengthOf(piece);
        var writer = _partial.BeginPiece(piece);

        // Bytes of the piece may stream to clients before it is complete only when every earlier piece is present.
        var streaming = _partial.FirstMissingPiece() == piece;
        while (writer.Written < pieceLength)
        {
            var read = await idle.ReadAsync(stream, buffer.AsMemory(0, Math.Min(buffer.Length, pieceLength - writer.Written)));
            if (read == 0)
            {
                throw new IOException($"origin body ended at {pieceStart + writer.Written} of {layout.Length}");
            }

            AgentMetrics.UpstreamBlobBytes.Inc(read);
            await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            if (streaming)
            {
                _progress.Streamed(pieceStart + writer.Written);
            }
        }

        return await writer.CompleteAsync(null, cancellationToken);
    }

    private bool AllPresent(int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (!_partial.HasPiece(i))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task SkipAsync(Stream stream, long count, byte[] buffer, IdleTimeout idle)
    {
        while (count > 0)
        {
            var read = await idle.ReadAsync(stream, buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)));
            if (read == 0)
            {
                throw new IOException("origin body ended early");
            }

            AgentMetrics.UpstreamBlobBytes.Inc(read);
            count -= read;
        }
    }

    /// <summary>Cancels a read that gets no byte for the idle timeout, on the download's clock.</summary>
    private sealed class IdleTimeout : IDisposable
    {
        private readonly TimeSpan _timeout;
        private readonly TimeProvider _time;
        private readonly CancellationToken _outer;
        private CancellationTokenSource _cts;
        private CancellationTokenRegistration _link;

        public IdleTimeout(TimeSpan timeout, TimeProvider time, CancellationToken outer)
        {
            _timeout = timeout;
            _time = time;
            _outer = outer;
            (_cts, _link) = Create();
        }

        public ValueTask<int> ReadAsync(Stream stream, Memory<byte> buffer)
        {
            _cts.CancelAfter(_timeout);
            return stream.ReadAsync(buffer, _cts.Token);
        }

        /// <summary>After a timeout fired, a fresh source for the resumed body.</summary>
        public void Reset()
        {
            if (_cts.IsCancellationRequested)
            {
                Dispose();
                (_cts, _link) = Create();
            }
        }

        public void Dispose()
        {
            _link.Dispose();
            _cts.Dispose();
        }

        private (CancellationTokenSource, CancellationTokenRegistration) Create()
        {
            var cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
            var link = _outer.Register(static state => ((CancellationTokenSource)state!).Cancel(), cts);
            return (cts, link);
        }
    }
}
