using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Hosting;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Configuration;

/// <summary>The agent's configuration as <see cref="AgentApp.Build"/> binds and checks it; nothing listens.</summary>
public sealed class AgentConfigurationTests : IDisposable
{
    private readonly TempDir _dir = new("agent-config");

    private string[] Base =>
    [
        "--Mirror:ListenUrl=http://127.0.0.1:0",
        "--Metrics:ListenUrl=http://127.0.0.1:0",
        "--Peer:ListenUrl=http://127.0.0.1:0",
        "--Tls:AllowInsecure=true", // these tests are about the other sections; Tls has its own
        "--Store:DataDir=" + _dir.Path,
    ];

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Build_EveryKindOfProblem_ReportsEachAtOnceNamingItsKey()
    {
        using var app = Build(
            "--Peer:MaxPiecesInFlight=abc",
            "--EmbeddedScheduler:HostExpiry=soon",
            "--Peer:ChunkBytes=1",
            "--Mirror:ListenUlr=http://127.0.0.1:1",
            "--Store:QuotaBytes=0");

        app.App.Should().BeNull();
        app.Errors.Should().BeEquivalentTo(
            "Mirror:ListenUlr is not a known key; known keys in Mirror: ListenUrl, AllowNonLoopback, DefaultRegistry, MaxManifestBytes.",
            "Store:QuotaBytes must be positive, not 0.",
            "Peer:MaxPiecesInFlight 'abc' is not a whole number.",
            "Peer:ChunkBytes must be in [16384, 4194304], not 1.",
            "EmbeddedScheduler:HostExpiry 'soon' is not a time span such as 00:00:10 (hh:mm:ss).");
    }

    [Fact]
    public void Build_ValidConfiguration_ConsumersGetTheValidatedInstances()
    {
        using var app = Build(
            "--Peer:MaxPiecesInFlight=7",
            "--Peer:MaxConcurrentUploads=9",
            "--Node:Name=node-a",
            "--Scheduler:ConnectTimeout=00:00:01",
            "--EmbeddedScheduler:FanOutLimit=3");

        app.Errors.Should().BeEmpty();
        var services = app.App!.Services;
        var peer = services.GetRequiredService<IOptions<PeerOptions>>().Value;
        peer.MaxPiecesInFlight.Should().Be(7);
        peer.MaxConcurrentUploads.Should().Be(9);
        services.GetRequiredService<IOptions<PeerOptions>>().Value.Should().BeSameAs(peer, "options are bound and validated once");
        services.GetRequiredService<IOptions<SchedulerClientOptions>>().Value.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(1));

        var connection = services.GetRequiredService<SchedulerConnection>();
        connection.Host.UploadCapacity.Should().Be(9);
        connection.Host.NodeName.Should().Be("node-a");
    }

    [Fact]
    public void Build_SchedulerTuningKeyUnderScheduler_IsUnknownAndPointsToEmbeddedScheduler()
    {
        using var app = Build("--Scheduler:FanOutLimit=3");

        app.Errors.Should().Equal(
            "Scheduler:FanOutLimit is not a known key; known keys in Scheduler: Address, ConnectTimeout, RetryAfterFailure, HeartbeatInterval; "
            + "did you mean EmbeddedScheduler:FanOutLimit?");
    }

    [Fact]
    public void Build_TypoInARegistryEntry_NamesTheEntryKey()
    {
        using var app = Build("--Registries:0:Host=127.0.0.1:5000", "--Registries:0:PlainHtp=true");

        app.Errors.Should().Equal(
            "Registries:0:PlainHtp is not a known key; known keys in Registries:0: Host, Endpoint, PlainHttp, CaFile, Username, Password, PasswordFile, Public.");
    }

    [Fact]
    public void Build_SectionsThatAreNotTheAgents_AreLeftAlone()
    {
        using var app = Build("--Logging:LogLevel:PeerAgent=Debug", "--AllowedHosts=*", "--Whatever:Key=1", "--urlz=x");

        app.Errors.Should().BeEmpty();
        app.App.Should().NotBeNull();
    }

    [Fact]
    public void Build_RemoteScheduler_StillChecksEmbeddedSchedulerKeys()
    {
        using var app = Build("--Scheduler:Address=http://127.0.0.1:65004", "--EmbeddedScheduler:FanOutLimit=0");

        app.Errors.Should().Equal("EmbeddedScheduler:FanOutLimit must be between 1 and 1024, not 0.");
    }

    private Built Build(params string[] args)
    {
        var app = AgentApp.Build([.. Base, .. args], out var errors);
        return new Built(app, errors);
    }

    private sealed record Built(WebApplication? App, IReadOnlyList<string> Errors) : IDisposable
    {
        public void Dispose() => ((IDisposable?)App)?.Dispose();
    }
}
