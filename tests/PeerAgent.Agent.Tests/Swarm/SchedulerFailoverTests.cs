using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Tls;
using PeerAgent.Protocol;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Swarm;

/// <summary>The agent's routing of blobs over scheduler replicas, against scripted in-process schedulers.</summary>
public sealed class SchedulerFailoverTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly List<FakeSchedulerReplica> _replicas = [];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            _replicas.Add(await FakeSchedulerReplica.StartAsync());
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    [Fact]
    public async Task HeartbeatAsync_AnswerListsReplicas_HeartbeatsEachOfThem()
    {
        ListReplicas();
        using var connection = Connect(_replicas[0].Address);

        var first = await connection.HeartbeatAsync(CancellationToken.None);
        var second = await connection.HeartbeatAsync(CancellationToken.None);

        first.Sharded.Should().BeTrue("the configured address answered with the replicas");
        first.Live.Should().BeEmpty("no replica has answered yet, so no blob has an owner to re-announce to");
        second.Sharded.Should().BeTrue();
        second.Live.Should().BeEquivalentTo(_replicas.Select(r => r.Address));
        connection.Shards.Should().BeEquivalentTo(_replicas.Select(r => r.Address));
        _replicas.Should().OnlyContain(r => r.Heartbeats >= 1, "every replica must know the host, since any of them may name it as a parent");
    }

    [Fact]
    public async Task TryOpenAsync_Sharded_RegistersOnTheBlobsOwnerOnly()
    {
        ListReplicas();
        using var connection = Connect(_replicas[0].Address);
        await connection.HeartbeatAsync(CancellationToken.None);
        var task = Digest.Compute("layer"u8);
        var owner = Owner(task);

        await using var session = await connection.TryOpenAsync(task, 1000, () => new DownloadState([0b1], false), CancellationToken.None);

        session.Should().NotBeNull();
        session!.SchedulerAddress.Should().Be(owner.Address);
        owner.Registrations.Should().ContainSingle().Which.TaskDigest.Should().Be(task.ToString());
        _replicas.Where(r => r != owner).Should().OnlyContain(r => r.Registrations.Count == 0);
    }

    [Fact]
    public async Task Session_OwnerStops_MovesToTheNextRankedReplicaWithThePiecesHeldThen()
    {
        ListReplicas();
        using var connection = Connect(_replicas[0].Address);
        await connection.HeartbeatAsync(CancellationToken.None);
        var task = Digest.Compute("layer"u8);
        var ranking = ShardRing.Rank(task.ToString(), [.. _replicas.Select(r => r.Address)]);
        var (owner, next) = (Replica(ranking[0]), Replica(ranking[1]));
        byte[] held = [0b0000_0001];
        await using var session = await connection.TryOpenAsync(task, 1000, () => new DownloadState(held, false), CancellationToken.None);
        (await session!.Decisions.ReadAsync()).KindCase.Should().Be(Protocol.V1.AnnounceResponse.KindOneofCase.Wait);

        held = [0b0000_0111];
        await owner.StopAsync();

        await Wait.UntilAsync(() => next.Registrations.Count == 1, Deadline, "the session registers again on the blob's next replica");
        var moved = next.Registrations.Single();
        moved.TaskDigest.Should().Be(task.ToString());
        moved.Moved.Should().BeTrue("the new owner learns the download comes from a replica that went away");
        moved.FromSource.Should().BeFalse("this download was not reading the origin");
        moved.Bitmap.ToByteArray().Should().Equal([0b0000_0111], "the new owner learns the pieces held at the move, not at the start");
        (await session.Decisions.ReadAsync()).KindCase.Should().Be(Protocol.V1.AnnounceResponse.KindOneofCase.Wait, "the new owner's decisions reach the download");
        session.IsBroken.Should().BeFalse("the download keeps one session across the move");
        session.SchedulerAddress.Should().Be(next.Address);
        Replica(ranking[2]).Registrations.Should().BeEmpty();
    }

    [Fact]
    public async Task Session_SingleSchedulerStops_BreaksSoTheDownloadGoesToTheOrigin()
    {
        using var connection = Connect(_replicas[0].Address);
        await connection.HeartbeatAsync(CancellationToken.None);
        await using var session = await connection.TryOpenAsync(Digest.Compute("layer"u8), 1000, () => new DownloadState([0], false), CancellationToken.None);
        (await session!.Decisions.ReadAsync()).KindCase.Should().Be(Protocol.V1.AnnounceResponse.KindOneofCase.Wait);

        await _replicas[0].StopAsync();

        await Wait.UntilAsync(() => session.IsBroken, Deadline, "with no other scheduler the session ends, and the download carries on from the origin");
        _replicas.Skip(1).Should().OnlyContain(r => r.Registrations.Count == 0, "replicas nobody listed are never used");
    }

    [Fact]
    public async Task AnnounceSeedAsync_OwnerDown_GoesToTheNextRanked()
    {
        ListReplicas();
        using var connection = Connect(_replicas[0].Address);
        await connection.HeartbeatAsync(CancellationToken.None);
        var task = Digest.Compute("seed"u8);
        var ranking = ShardRing.Rank(task.ToString(), [.. _replicas.Select(r => r.Address)]);
        await Replica(ranking[0]).StopAsync();

        var announced = await connection.AnnounceSeedAsync(task, 1000, CancellationToken.None);

        announced.Should().BeTrue();
        Replica(ranking[1]).Registrations.Should().ContainSingle().Which.Complete.Should().BeTrue();
    }

    [Fact]
    public async Task Heartbeats_StoppedWhileAHeartbeatIsInFlight_EndCleanly()
    {
        _replicas[0].HoldHeartbeats = true;
        using var connection = Connect(_replicas[0].Address);
        using var store = await TempContentStore.CreateAsync();
        using var heartbeats = new SchedulerHeartbeats(
            connection,
            Options.Create(new SchedulerClientOptions { Address = _replicas[0].Address }),
            new RecentSeeds(),
            store.Store,
            TimeProvider.System,
            NullLogger<SchedulerHeartbeats>.Instance);
        await heartbeats.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => _replicas[0].Heartbeats >= 1, Deadline, "a heartbeat is in flight");

        await heartbeats.StopAsync(CancellationToken.None);

        heartbeats.ExecuteTask!.Status.Should().Be(TaskStatus.RanToCompletion, "a stop that cancels the call in flight is a clean stop, not a failed service (which the host logs as critical)");
    }

    [Fact]
    public void OwnerOf_Sharded_IsTheRankingsFirstLiveReplica()
    {
        var task = Digest.Compute("layer"u8);
        string[] live = ["https://10.0.0.1:65004", "https://10.0.0.2:65004"];

        new HeartbeatRound(live, Sharded: true, new HashSet<string>()).OwnerOf(task).Should().Be(ShardRing.Owner(task.ToString(), live));
        new HeartbeatRound(["http://scheduler:65004"], Sharded: false, new HashSet<string>()).OwnerOf(task).Should().Be("http://scheduler:65004");
        new HeartbeatRound([], Sharded: true, new HashSet<string>()).OwnerOf(task).Should().BeNull("nobody answered");
    }

    private static SchedulerConnection Connect(string address)
    {
        var peer = new PeerOptions { ListenUrl = "http://127.0.0.1:0", AdvertiseUrl = "http://127.0.0.1:65002" };
        return new SchedulerConnection(
            Options.Create(new SchedulerClientOptions { Address = address, ConnectTimeout = TimeSpan.FromSeconds(5) }),
            Options.Create(peer),
            Options.Create(new NodeOptions { Name = "node-a" }),
            PeerUploadLimits.Create(peer),
            TimeProvider.System,
            TransportSecurity.Plaintext(),
            NullLogger<SchedulerConnection>.Instance);
    }

    private void ListReplicas()
    {
        string[] all = [.. _replicas.Select(r => r.Address)];
        foreach (var replica in _replicas)
        {
            replica.Shards = all;
        }
    }

    private FakeSchedulerReplica Owner(Digest task) => Replica(ShardRing.Owner(task.ToString(), [.. _replicas.Select(r => r.Address)])!);

    private FakeSchedulerReplica Replica(string address) => _replicas.Single(r => r.Address == address);
}
