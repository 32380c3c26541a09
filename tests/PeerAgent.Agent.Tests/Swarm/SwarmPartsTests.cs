using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Tests.Swarm;

public sealed class SwarmPartsTests
{
    [Fact]
    public void RecentSeeds_OverCapacity_ForgetsTheOldestAndKeepsNewestFirst()
    {
        var seeds = new RecentSeeds();
        var digests = Enumerable.Range(0, RecentSeeds.Capacity + 2).Select(i => Digest.Compute(BitConverter.GetBytes(i))).ToArray();
        foreach (var digest in digests)
        {
            seeds.Add(digest, 10);
        }

        seeds.Add(digests[2], 10); // touched again: moves to the front

        var snapshot = seeds.Snapshot();
        snapshot.Should().HaveCount(RecentSeeds.Capacity);
        snapshot[0].Digest.Should().Be(digests[2]);
        snapshot.Select(s => s.Digest).Should().NotContain([digests[0], digests[1]]);
        snapshot.Select(s => s.Digest).Should().Contain(digests[^1]);
    }

    [Fact]
    public async Task PieceClaims_FirstOpen_SkipsPresentAndClaimedPieces()
    {
        using var dir = await TempContentStore.CreateAsync();
        var content = new byte[3 * 4 * 1024 * 1024]; // three 4 MiB pieces
        Random.Shared.NextBytes(content);
        using var partial = dir.Store.OpenPartialOrFail(Digest.Compute(content), content.Length);
        var writer = partial.BeginPiece(0);
        await writer.WriteAsync(content.AsMemory(0, 4 * 1024 * 1024), default);
        await writer.CompleteAsync(null, default);
        var claims = new PieceClaims(3);

        claims.FirstOpen(partial, 0, 3).Should().Be(1);
        claims.TryClaim(1).Should().BeTrue();
        claims.TryClaim(1).Should().BeFalse("a claimed piece is not handed out twice");
        claims.FirstOpen(partial, 0, 3).Should().Be(2);
        claims.TryClaim(2).Should().BeTrue();
        claims.FirstOpen(partial, 0, 3).Should().Be(-1);
        claims.Release(1);
        claims.FirstOpen(partial, 0, 3).Should().Be(1, "a released claim is open again");
    }

    [Theory]
    [InlineData("http://0.0.0.0:65002", "http://127.0.0.1:65002")]
    [InlineData("http://*:7000", "http://127.0.0.1:7000")]
    [InlineData("http://127.0.0.2:7001", "http://127.0.0.2:7001")]
    [InlineData("https://0.0.0.0:65002", "https://127.0.0.1:65002")]
    public void EmbeddedAddress_ReachesThePeerListenerOverLoopback(string listen, string expected) =>
        SchedulerConnection.EmbeddedAddress(listen).Should().Be(expected);

    [Fact]
    public void AdvertiseUrl_ExplicitWins_ElseListenAddress_ElseNotLoopbackForAnyAddress()
    {
        SchedulerConnection.AdvertiseUrl(new PeerOptions { AdvertiseUrl = "http://10.1.2.3:65002/" }).Should().Be("http://10.1.2.3:65002");
        SchedulerConnection.AdvertiseUrl(new PeerOptions { ListenUrl = "http://127.0.0.5:9000" }).Should().Be("http://127.0.0.5:9000");
        SchedulerConnection.AdvertiseUrl(new PeerOptions { ListenUrl = "https://127.0.0.5:9000" }).Should().Be("https://127.0.0.5:9000", "peers dial the scheme the listener speaks");
        var any = new Uri(SchedulerConnection.AdvertiseUrl(new PeerOptions { ListenUrl = "http://0.0.0.0:9001" }));
        any.Port.Should().Be(9001);
        any.Host.Should().NotBe("0.0.0.0", "other agents cannot dial the any-address");
    }

    [Fact]
    public void SchedulerClientOptions_BadValues_NameEachKey()
    {
        var validator = new SchedulerClientOptionsValidator();
        var errors = validator.Validate(Options.DefaultName, new SchedulerClientOptions
        {
            Address = "not a url",
            ConnectTimeout = TimeSpan.Zero,
            RetryAfterFailure = TimeSpan.FromSeconds(-1),
            HeartbeatInterval = TimeSpan.Zero,
        }).Failures;

        errors.Should().HaveCount(4);
        errors.Should().Contain(e => e.StartsWith("Scheduler:Address", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Scheduler:ConnectTimeout", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Scheduler:RetryAfterFailure", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Scheduler:HeartbeatInterval", StringComparison.Ordinal));
        new SchedulerClientOptions().IsEmbedded.Should().BeTrue();
        validator.Validate(Options.DefaultName, new SchedulerClientOptions { Address = "http://127.0.0.1:65004" }).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void PeerOptions_SwarmKeys_AreValidated()
    {
        var errors = new PeerOptionsValidator().Validate(Options.DefaultName, new PeerOptions
        {
            AdvertiseUrl = "http://host-without-port/path",
            MaxPiecesInFlight = 0,
            PieceTimeout = TimeSpan.Zero,
            StallTimeout = TimeSpan.Zero,
        }).Failures;

        errors.Should().Contain(e => e.StartsWith("Peer:AdvertiseUrl", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:MaxPiecesInFlight", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:PieceTimeout", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:StallTimeout", StringComparison.Ordinal));
    }
}
