using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Swarm;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduling.Topology;
using WireScheduler = PeerAgent.Protocol.V1.Scheduler;

namespace PeerAgent.Scheduling.Service;

/// <summary>
/// The scheduler's gRPC service (scheduler.proto): Heartbeat keeps hosts alive, and one Announce stream per
/// download carries the peer's reports in and the scheduler's decisions out. All state lives in <see cref="SwarmScheduler"/>.
/// </summary>
[BindServiceMethod(typeof(SchedulerServiceBinding), nameof(SchedulerServiceBinding.BindService))]
internal sealed class SchedulerService : WireScheduler.SchedulerBase
{
    private const int MaxReasonLength = 200;

    private readonly SwarmScheduler _scheduler;
    private readonly AnnounceStreams _streams;
    private readonly Decisions _decisions;
    private readonly SchedulerIdentity _identity;
    private readonly HostPlacements _placements;
    private readonly IShardDirectory _shards;
    private readonly ILogger<SchedulerService> _logger;

    public SchedulerService(
        SwarmScheduler scheduler,
        AnnounceStreams streams,
        Decisions decisions,
        SchedulerIdentity identity,
        HostPlacements placements,
        IShardDirectory shards,
        ILogger<SchedulerService> logger)
    {
        _shards = shards;
        _scheduler = scheduler;
        _streams = streams;
        _decisions = decisions;
        _identity = identity;
        _placements = placements;
        _logger = logger;
    }

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var host = _placements.Place(ToHost(request.Host, "host"));
        if (!_scheduler.Heartbeat(host.HostId, request.CurrentUploads))
        {
            // Unknown (first contact, expired, or this scheduler restarted): register, then record the load.
            _placements.Register(host);
            _scheduler.Heartbeat(host.HostId, request.CurrentUploads);
        }
        else
        {
            // With Kubernetes topology, its Node may have appeared or changed labels since: the core re-pools its peers.
            _placements.Refresh(host);
        }

        // Every answer carries the replicas, so an agent follows a scale-up or a replica going away within one heartbeat.
        var response = new HeartbeatResponse { SchedulerId = _identity.Id };
        response.Shards.AddRange(_shards.Replicas);
        return Task.FromResult(response);
    }

    public override async Task Announce(IAsyncStreamReader<AnnounceRequest> requestStream, IServerStreamWriter<AnnounceResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var aborted = context.CancellationToken;
        if (!await requestStream.MoveNext(aborted))
        {
            throw Invalid("the Announce stream ended before its first message; send register first");
        }

        var stream = Register(requestStream.Current, responseStream, aborted);
        _streams.Add(stream);
        var ending = "completed by the agent";
        try
        {
            await stream.WriteAsync(stream.IsSeed ? Decisions.Finished : _decisions.Next);
            while (await requestStream.MoveNext(aborted))
            {
                await HandleAsync(stream, requestStream.Current);
            }
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && aborted.IsCancellationRequested))
        {
            // The agent went away (stream reset, connection lost): handled below as the peer leaving.
            ending = "broken";
        }
        catch (RpcException)
        {
            ending = "refused";
            throw;
        }
        finally
        {
            await stream.CloseAsync();
            var current = _streams.Remove(stream);
            string fate;
            if (stream.HasFailed)
            {
                fate = "already left (download failed)";
            }
            else if (stream.IsSeed)
            {
                fate = "stays as a seed";
            }
            else if (!current)
            {
                fate = "continues on a newer stream";
            }
            else
            {
                fate = "leaves";
                _scheduler.Leave(stream.Peer.Task, stream.Peer.HostId);
            }

            SchedulerServiceLog.StreamClosed(_logger, stream.Peer.Task, stream.Peer.HostId, ending, fate);
        }
    }

    /// <summary>Validates the first message, registers the host and announces the peer; throws the RPC error the agent sees.</summary>
    private AnnounceStream Register(AnnounceRequest first, IServerStreamWriter<AnnounceResponse> responses, CancellationToken aborted)
    {
        if (first.KindCase != AnnounceRequest.KindOneofCase.Register)
        {
            throw Invalid($"the first Announce message must be register, not {KindName(first.KindCase)}");
        }

        var register = first.Register;
        var host = _placements.Place(ToHost(register.Host, "register.host"));
        if (!Digest.TryParse(register.TaskDigest, out var digest))
        {
            throw Invalid($"register.task_digest '{Shorten(register.TaskDigest)}' is not a digest such as sha256:<64 lower-case hex>");
        }

        if (register.ContentLength <= 0)
        {
            throw Invalid($"register.content_length must be positive, not {register.ContentLength}");
        }

        _placements.Register(host);
        var bitmap = register.Bitmap.Span;
        var result = _scheduler.Announce(digest, register.ContentLength, host.HostId, bitmap, register.Complete, register.Moved, register.FromSource);
        var pieceCount = PieceLayout.For(register.ContentLength).PieceCount;
        switch (result)
        {
            case AnnounceResult.Registered:
                break;
            case AnnounceResult.BadBitmap:
                throw Invalid($"register.bitmap has {bitmap.Length} bytes; a {register.ContentLength}-byte blob has {pieceCount} pieces, so it needs {PieceBitmap.ByteLength(pieceCount)} (or none)");
            case AnnounceResult.LengthMismatch:
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"task {digest} is known with another length than register.content_length {register.ContentLength}; the digest and length must describe the same blob"));
            default:
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"host {host.HostId} is not registered; heartbeat first"));
        }

        var pieces = register.Complete || bitmap.IsEmpty ? new PieceBitmap(pieceCount) : PieceBitmap.FromBytes(pieceCount, bitmap);
        var stream = new AnnounceStream(new PeerRef(digest, host.HostId), host, register.ContentLength, pieces, responses, aborted)
        {
            IsSeed = register.Complete,
        };
        SchedulerServiceLog.StreamOpened(_logger, digest, host.HostId, register.Complete);
        return stream;
    }

    private async Task HandleAsync(AnnounceStream stream, AnnounceRequest request)
    {
        var peer = stream.Peer;
        if (stream.HasFailed)
        {
            // download_failed removed the peer; anything after it has nothing to act on.
            return;
        }

        switch (request.KindCase)
        {
            case AnnounceRequest.KindOneofCase.PiecesFinished:
                SchedulerMetrics.ReportPiecesFinished.Inc();
                foreach (var index in request.PiecesFinished.Indexes)
                {
                    _scheduler.PieceFinished(peer.Task, peer.HostId, index);
                    stream.MarkPiece(index);
                }

                break;

            case AnnounceRequest.KindOneofCase.PieceFailed:
                SchedulerMetrics.ReportPieceFailed.Inc();
                var failed = request.PieceFailed;
                if (failed.Corrupt
                        ? _scheduler.ParentCorrupt(peer.Task, peer.HostId, failed.ParentHostId)
                        : _scheduler.PieceFailed(peer.Task, peer.HostId, failed.Index, failed.ParentHostId))
                {
                    await stream.WriteAsync(_decisions.Next);
                }

                break;

            case AnnounceRequest.KindOneofCase.ParentFailed:
                SchedulerMetrics.ReportParentFailed.Inc();
                _scheduler.ParentFailed(peer.Task, peer.HostId, request.ParentFailed.ParentHostId);
                await stream.WriteAsync(_decisions.Next);
                break;

            case AnnounceRequest.KindOneofCase.Reschedule:
                SchedulerMetrics.ReportReschedule.Inc();
                await stream.WriteAsync(_decisions.Next);
                break;

            case AnnounceRequest.KindOneofCase.DownloadFinished:
                SchedulerMetrics.ReportDownloadFinished.Inc();
                PublishPieceDigests(stream, request.DownloadFinished);
                _scheduler.DownloadFinished(peer.Task, peer.HostId);
                stream.IsSeed = true;
                break;

            case AnnounceRequest.KindOneofCase.DownloadFailed:
                SchedulerMetrics.ReportDownloadFailed.Inc();
                SchedulerServiceLog.DownloadFailed(_logger, peer.Task, peer.HostId, Shorten(request.DownloadFailed.Reason, MaxReasonLength));
                _scheduler.DownloadFailed(peer.Task, peer.HostId);
                stream.HasFailed = true;
                stream.IsSeed = false;
                break;

            case AnnounceRequest.KindOneofCase.Register:
                throw Invalid("register is only valid as the first Announce message; open a new stream for another task");

            default:
                // A kind added after this scheduler was built: ignore it, as proto3 readers do with unknown fields.
                break;
        }
    }

    private void PublishPieceDigests(AnnounceStream stream, DownloadFinished finished)
    {
        var peer = stream.Peer;
        if (finished.PieceSha256.Count == 0)
        {
            return;
        }

        var pieceCount = PieceLayout.For(stream.Length).PieceCount;
        if (finished.PieceSha256.Count != pieceCount)
        {
            SchedulerServiceLog.PieceDigestsIgnored(_logger, peer.Task, peer.HostId, finished.PieceSha256.Count, pieceCount);
            return;
        }

        var digests = new Digest[pieceCount];
        for (var i = 0; i < digests.Length; i++)
        {
            if (!WireMapping.TryFromWire(finished.PieceSha256[i], out digests[i]))
            {
                throw Invalid($"download_finished.piece_sha256[{i}] has {finished.PieceSha256[i].Length} bytes; a sha256 is 32");
            }
        }

        _scheduler.PublishPieceDigests(peer.Task, peer.HostId, digests);
    }

    private static PeerHost ToHost(HostInfo? host, string field) =>
        WireMapping.FromWire(host, field, out var error) ?? throw Invalid(error!);

    private static string KindName(AnnounceRequest.KindOneofCase kind) => kind switch
    {
        AnnounceRequest.KindOneofCase.None => "an empty message",
        AnnounceRequest.KindOneofCase.PiecesFinished => "pieces_finished",
        AnnounceRequest.KindOneofCase.PieceFailed => "piece_failed",
        AnnounceRequest.KindOneofCase.ParentFailed => "parent_failed",
        AnnounceRequest.KindOneofCase.Reschedule => "reschedule",
        AnnounceRequest.KindOneofCase.DownloadFinished => "download_finished",
        AnnounceRequest.KindOneofCase.DownloadFailed => "download_failed",
        _ => kind.ToString(),
    };

    private static string Shorten(string value, int max = 80) => value.Length <= max ? value : string.Concat(value.AsSpan(0, max), "…");

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
