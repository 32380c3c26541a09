using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Core.Oci;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduling.Topology;

namespace PeerAgent.Scheduler.Tests.Service;

/// <summary>The Announce and Heartbeat RPCs over a real in-process HTTP/2 server, driven by the generated client.</summary>
public sealed class SchedulerServiceTests
{
    [Fact]
    public async Task Announce_FirstPeerOfATask_GoesBackToSourceForEveryPiece()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");

        var decision = await a.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource, "nobody else holds the blob");
        decision.BackToSource.PieceStart.Should().Be(0);
        decision.BackToSource.PieceEnd.Should().Be(SchedulerTestHost.PieceCount);
        decision.BackToSource.Parents.Should().BeEmpty();
    }

    [Fact]
    public async Task Announce_SecondPeer_GetsTheFirstAsParentWithItsPeerAddress()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource);

        using var b = await host.RegisterAsync("b");
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents, "a fetches the whole blob from the origin, so it can feed b");
        decision.Parents.Parents.Should().ContainSingle().Which.Should().Be(new ParentPeer { HostId = "a", PeerAddress = "http://a.test:65002", Zone = "z1", Region = "r1" }, "the child counts what it receives by where the parent is");
        decision.Parents.PieceSha256.Should().BeEmpty("nobody published piece digests yet");
    }

    [Fact]
    public async Task Announce_CompleteSeed_IsToldFinishedAndOfferedAsParent()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var seed = await host.RegisterAsync("seed", complete: true);
        (await seed.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.Finished);

        using var b = await host.RegisterAsync("b");
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents);
        decision.Parents.Parents.Select(p => p.HostId).Should().Equal("seed");
    }

    [Fact]
    public async Task DownloadFinished_WithPieceDigests_LaterChildReceivesThem()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource);
        var digests = Enumerable.Range(0, SchedulerTestHost.PieceCount).Select(i => Digest.Compute([(byte)i])).ToArray();
        var finished = new DownloadFinished();
        finished.PieceSha256.AddRange(digests.Select(d => ByteString.CopyFrom(Convert.FromHexString(d.Hex))));

        await a.SendAsync(new AnnounceRequest { DownloadFinished = finished });
        await a.SendAsync(new AnnounceRequest { Reschedule = new Reschedule() });
        (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.Finished, "a finished, and reports are handled in order");

        using var b = await host.RegisterAsync("b");
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents);
        decision.Parents.Parents.Select(p => p.HostId).Should().Equal("a");
        decision.Parents.PieceSha256.Select(h => Digest.FromHash("sha256", h.Span)).Should().Equal(digests, "a's published digests are relayed as raw sha256 bytes, in piece order");
    }

    [Fact]
    public async Task DownloadFinished_ThenStreamCloses_PeerStaysAsSeed()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        await a.SendAsync(new AnnounceRequest { DownloadFinished = new DownloadFinished() });
        await a.CompleteAsync();

        using var b = await host.RegisterAsync("b");
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents, "a finished peer is a seed until its host expires, stream or not");
        decision.Parents.Parents.Select(p => p.HostId).Should().Equal("a");
    }

    [Fact]
    public async Task ParentFailed_PushesANewDecisionWithoutThatParent()
    {
        await using var host = await SchedulerTestHost.StartAsync(o => o.ParentFailureLimit = 1);
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        using var b = await host.RegisterAsync("b");
        (await b.NextAsync()).Parents.Parents.Select(p => p.HostId).Should().Equal("a");

        await b.SendAsync(new AnnounceRequest { ParentFailed = new ParentFailed { ParentHostId = "a" } });
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Wait, "a is ruled out for b and a holds the only back-to-source slot");
        decision.Wait.RetryAfterMs.Should().Be((int)host.Options.WaitRetryInterval.TotalMilliseconds);
        host.Scheduler.Inspect(SchedulerTestHost.Blob, "b")!.Parents.Should().BeEmpty();
    }

    [Fact]
    public async Task PieceFailed_AtTheFailureLimit_PushesANewDecision()
    {
        await using var host = await SchedulerTestHost.StartAsync(o => o.ParentFailureLimit = 2);
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        using var b = await host.RegisterAsync("b");
        await b.NextAsync();

        await b.SendAsync(new AnnounceRequest { PieceFailed = new PieceFailed { Index = 3, ParentHostId = "a" } });
        await b.SendAsync(new AnnounceRequest { PieceFailed = new PieceFailed { Index = 4, ParentHostId = "a" } });
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Wait, "the second failure reached the limit, so a was dropped and no other source is left");
        host.Scheduler.Inspect(SchedulerTestHost.Blob, "a").Should().NotBeNull("failed transfers drop a for b only");
    }

    [Fact]
    public async Task PieceFailedCorrupt_ParentLeavesTheTaskAndTheChildTakesItsSlot()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource);
        using var b = await host.RegisterAsync("b");
        (await b.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents);

        await b.SendAsync(new AnnounceRequest { PieceFailed = new PieceFailed { Index = 0, ParentHostId = "a", Corrupt = true } });
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource, "a served wrong bytes, so it left the task and freed its slot");
        host.Scheduler.Inspect(SchedulerTestHost.Blob, "a").Should().BeNull();
    }

    [Fact]
    public async Task Reschedule_AnswersWithAFreshDecision()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        using var b = await host.RegisterAsync("b");
        await b.NextAsync();
        using var c = await host.RegisterAsync("c");
        await c.NextAsync();
        await b.SendAsync(new AnnounceRequest { PiecesFinished = new PiecesFinished { Indexes = { 0, 1 } } });

        // b's report and c's request travel on different streams: let the scheduler take in b's pieces first.
        await SchedulerTestHost.WaitUntilAsync(() => host.Scheduler.Inspect(SchedulerTestHost.Blob, "b")?.PresentPieces == 2, "b's pieces are known");
        await c.SendAsync(new AnnounceRequest { Reschedule = new Reschedule() });
        var decision = await c.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.Parents);
        decision.Parents.Parents.Select(p => p.HostId).Should().BeEquivalentTo(["a", "b"], "b now holds pieces c lacks");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamEndsWithoutFinishing_PeerLeavesAndIsNotOfferedAsParent(bool graceful)
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using (var a = await host.RegisterAsync("a"))
        {
            (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource);
            if (graceful)
            {
                await a.CompleteAsync();
            }
        }

        // Disposing the call resets the stream; either way the service notices asynchronously.
        await SchedulerTestHost.WaitUntilAsync(() => host.Scheduler.Inspect(SchedulerTestHost.Blob, "a") is null, "a left the task");
        using var b = await host.RegisterAsync("b");
        var decision = await b.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource, "a's back-to-source slot was freed when it left");
        decision.BackToSource.Parents.Should().BeEmpty("a left and must not be offered");
    }

    [Fact]
    public async Task DownloadFailed_PeerLeavesAtOnce()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();

        await a.SendAsync(new AnnounceRequest { DownloadFailed = new DownloadFailed { Reason = "origin answered 500" } });

        await SchedulerTestHost.WaitUntilAsync(() => host.Scheduler.Inspect(SchedulerTestHost.Blob, "a") is null, "a left the task");
        await a.CompleteAsync();
    }

    [Fact]
    public async Task HostStopsHeartbeating_ChildrenAttachedToItGetANewDecisionPushed()
    {
        await using var host = await SchedulerTestHost.StartAsync(o => o.HostExpiry = TimeSpan.FromSeconds(10));
        using var a = await host.RegisterAsync("a");
        (await a.NextAsync()).KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource);
        using var b = await host.RegisterAsync("b");
        (await b.NextAsync()).Parents.Parents.Select(p => p.HostId).Should().Equal("a");

        // b heartbeats, a falls silent; the fake clock also drives the sweeper's timer.
        host.Time.Advance(TimeSpan.FromSeconds(6));
        await host.HeartbeatAsync("b");
        host.Time.Advance(TimeSpan.FromSeconds(6));
        var pushed = await b.NextAsync();

        pushed.KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource, "a expired, so its back-to-source slot and its place as b's parent are gone");
        pushed.BackToSource.Parents.Should().BeEmpty();
        host.Scheduler.HasHost("a").Should().BeFalse();
    }

    [Fact]
    public async Task Announce_FirstMessageIsNotRegister_FailsWithInvalidArgument()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var call = new PeerCall(host.Client.Announce());

        await call.SendAsync(new AnnounceRequest { Reschedule = new Reschedule() });
        var read = () => call.NextAsync();

        var error = (await read.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.InvalidArgument);
        error.Status.Detail.Should().Contain("first Announce message must be register").And.Contain("reschedule");
    }

    [Theory]
    [InlineData("sha256:xyz", 100, "register.task_digest")]
    [InlineData(null, 0, "register.content_length")]
    [InlineData(null, -5, "register.content_length")]
    public async Task Announce_BadRegister_FailsWithInvalidArgumentNamingTheField(string? digest, long length, string field)
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var call = await host.RegisterAsync("a", length: length, digest: digest);

        var read = () => call.NextAsync();

        var error = (await read.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.InvalidArgument);
        error.Status.Detail.Should().Contain(field);
    }

    [Fact]
    public async Task Announce_BitmapOfTheWrongSize_FailsWithInvalidArgument()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var call = new PeerCall(host.Client.Announce());
        await call.SendAsync(new AnnounceRequest
        {
            Register = new RegisterPeer
            {
                Host = SchedulerTestHost.HostInfo("a"),
                TaskDigest = SchedulerTestHost.Blob.ToString(),
                ContentLength = SchedulerTestHost.Length,
                Bitmap = ByteString.CopyFrom(new byte[7]),
            },
        });

        var read = () => call.NextAsync();

        var error = (await read.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.InvalidArgument);
        error.Status.Detail.Should().Contain("register.bitmap has 7 bytes").And.Contain("needs 2");
    }

    [Fact]
    public async Task Announce_LengthDisagreesWithTheTask_FailsWithFailedPrecondition()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        using var b = await host.RegisterAsync("b", length: SchedulerTestHost.Length + 1);

        var read = () => b.NextAsync();

        var error = (await read.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.FailedPrecondition);
        error.Status.Detail.Should().Contain(SchedulerTestHost.Blob.ToString());
    }

    [Fact]
    public async Task Announce_SecondRegisterOnOneStream_FailsAndThePeerLeaves()
    {
        await using var host = await SchedulerTestHost.StartAsync();
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();

        await a.SendAsync(new AnnounceRequest { Register = new RegisterPeer { Host = SchedulerTestHost.HostInfo("a") } });
        var read = () => a.NextAsync();

        (await read.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
        await SchedulerTestHost.WaitUntilAsync(() => host.Scheduler.Inspect(SchedulerTestHost.Blob, "a") is null, "a left the task");
    }

    [Fact]
    public async Task Heartbeat_UnknownHost_RegistersItAndAnswersTheSchedulerId()
    {
        await using var host = await SchedulerTestHost.StartAsync();

        var first = await host.HeartbeatAsync("a", currentUploads: 2);
        var second = await host.HeartbeatAsync("a");

        host.Scheduler.HasHost("a").Should().BeTrue();
        first.SchedulerId.Should().HaveLength(32).And.Be(second.SchedulerId, "the id changes only when the scheduler restarts");
    }

    [Fact]
    public async Task Heartbeat_NotSharded_AnswersNoReplicas()
    {
        await using var host = await SchedulerTestHost.StartAsync();

        var answer = await host.HeartbeatAsync("a");

        answer.Shards.Should().BeEmpty("without a shard Service the agent keeps its configured address");
    }

    [Fact]
    public async Task Heartbeat_Sharded_AnswersTheReplicasTheDirectoryHoldsNow()
    {
        var directory = new ShardDirectory(["https://10.0.0.1:65004", "https://10.0.0.2:65004"]);
        await using var host = await SchedulerTestHost.StartAsync(services: s => s.AddSingleton<IShardDirectory>(directory));

        var before = await host.HeartbeatAsync("a");
        directory.Replicas = ["https://10.0.0.2:65004"];
        var after = await host.HeartbeatAsync("a");

        before.Shards.Should().Equal("https://10.0.0.1:65004", "https://10.0.0.2:65004");
        after.Shards.Should().Equal(["https://10.0.0.2:65004"], "every answer carries the current replicas, so agents follow a replica going away");
    }

    [Fact]
    public async Task Heartbeat_RestartedScheduler_AnswersAnotherId()
    {
        await using var one = await SchedulerTestHost.StartAsync();
        await using var two = await SchedulerTestHost.StartAsync();

        var first = await one.HeartbeatAsync("a");
        var second = await two.HeartbeatAsync("a");

        first.SchedulerId.Should().NotBe(second.SchedulerId);
    }

    [Theory]
    [InlineData(false, "host is missing")]
    [InlineData(true, "host.host_id is empty")]
    public async Task Heartbeat_NoHostId_FailsWithInvalidArgument(bool withHost, string expected)
    {
        await using var host = await SchedulerTestHost.StartAsync();
        var request = withHost ? new HeartbeatRequest { Host = new HostInfo { NodeName = "n" } } : new HeartbeatRequest();

        var call = () => host.Client.HeartbeatAsync(request).ResponseAsync;

        var error = (await call.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.InvalidArgument);
        error.Status.Detail.Should().Contain(expected);
    }

    [Fact]
    public async Task Announce_PeerDroppedWhileItsStreamStaysOpen_IsAnnouncedAgainWithItsReportedPieces()
    {
        await using var host = await SchedulerTestHost.StartAsync(o => o.HostExpiry = TimeSpan.FromSeconds(10));
        using var a = await host.RegisterAsync("a");
        await a.NextAsync();
        await a.SendAsync(new AnnounceRequest { PiecesFinished = new PiecesFinished { Indexes = { 0, 1, 2 } } });
        await SchedulerTestHost.WaitUntilAsync(() => host.Scheduler.Inspect(SchedulerTestHost.Blob, "a")?.PresentPieces == 3, "a's pieces are recorded");

        // a's heartbeats stop (its stream stays open), so the sweep drops it.
        host.Time.Advance(TimeSpan.FromSeconds(11));
        await SchedulerTestHost.WaitUntilAsync(() => !host.Scheduler.HasHost("a"), "a expired");
        await a.SendAsync(new AnnounceRequest { Reschedule = new Reschedule() });
        var decision = await a.NextAsync();

        decision.KindCase.Should().Be(AnnounceResponse.KindOneofCase.BackToSource, "a was announced again and is the only peer");
        host.Scheduler.Inspect(SchedulerTestHost.Blob, "a")!.PresentPieces.Should().Be(3, "the pieces a reported on this stream are kept");
    }

    [Theory]
    [InlineData("Heartbeat", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]   // a tag whose varint never ends
    [InlineData("Heartbeat", new byte[] { 0x0A, 0x7F, 0x0A })]         // host claims 127 bytes, has 1
    [InlineData("Announce", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData("Announce", new byte[] { 0x0C })]                      // an end-group with no start
    public async Task AnyCall_MessageIsNotProtobuf_InvalidArgumentAndNoErrorLogged(string method, byte[] body)
    {
        await using var host = await SchedulerTestHost.StartAsync();

        var status = await host.CallRawAsync(method, body);
        var after = await host.Client.HeartbeatAsync(new HeartbeatRequest { Host = SchedulerTestHost.HostInfo("after") });

        status.StatusCode.Should().Be(StatusCode.InvalidArgument, because: $"{Convert.ToHexString(body)} is no {method} request ({status.Detail})");
        after.SchedulerId.Should().NotBeEmpty("the scheduler goes on answering");

        // Disposing the host fails the test on any error-level log.
    }

    private sealed class ShardDirectory(IReadOnlyList<string> replicas) : IShardDirectory
    {
        public IReadOnlyList<string> Replicas { get; set; } = replicas;
    }
}
