using Grpc.Core;
using PeerAgent.Core.Pieces;
using AnnounceResponse = PeerAgent.Protocol.V1.AnnounceResponse;
using PeerAgent.Scheduling.Swarm;
using PeerAgent.Scheduling.Service;

namespace PeerAgent.Scheduler.Tests.Service;

public sealed class AnnounceStreamsTests
{
    [Fact]
    public void Remove_StreamReplacedByANewerOneOfTheSamePeer_ReturnsFalseAndKeepsTheNewer()
    {
        var streams = new AnnounceStreams();
        var peer = new PeerRef(SchedulerTestHost.Blob, "a");
        var older = Stream(peer);
        var newer = Stream(peer);
        streams.Add(older);
        streams.Add(newer);

        streams.Remove(older).Should().BeFalse("the agent reconnected; the old stream's end must not make the peer leave");
        streams.TryGet(peer, out var current).Should().BeTrue();
        current.Should().BeSameAs(newer);
        streams.Remove(newer).Should().BeTrue();
        streams.Count.Should().Be(0);
    }

    private static AnnounceStream Stream(PeerRef peer) =>
        new(peer, new PeerAgent.Core.Swarm.PeerHost(peer.HostId, "n", "z", "r", "http://a:1", 1), SchedulerTestHost.Length, new PieceBitmap(SchedulerTestHost.PieceCount), new NullWriter(), CancellationToken.None);

    private sealed class NullWriter : IServerStreamWriter<AnnounceResponse>
    {
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(AnnounceResponse message) => Task.CompletedTask;
    }
}
