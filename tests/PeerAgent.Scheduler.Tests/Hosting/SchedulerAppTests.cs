using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Testing;
using WireScheduler = PeerAgent.Protocol.V1.Scheduler;

namespace PeerAgent.Scheduler.Tests.Hosting;

/// <summary>The scheduler process as <c>Program</c> builds it, on loopback ports picked at run time.</summary>
public sealed class SchedulerAppTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public void Build_BadConfiguration_ReturnsEveryErrorNamingItsKey()
    {
        var app = SchedulerApp.Build(
            ["--Scheduler:ListenUrl=http://0.0.0.0", "--Metrics:ListenUrl=", "--Scheduler:FanOutLimit=lots", "--Scheduler:HostExpiry=00:00:00", "--Tls:AllowInsecure=true"],
            out var errors);

        app.Should().BeNull();
        errors.Should().HaveCount(4);
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:ListenUrl ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Metrics:ListenUrl ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:FanOutLimit ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:HostExpiry ", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_NoTlsFiles_RefusesNamingTheKeysAndHowToMakeCertificates()
    {
        var app = SchedulerApp.Build(["--Scheduler:ListenUrl=https://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0"], out var errors);

        app.Should().BeNull("mutual TLS is on by default and there are no certificates");
        errors.Should().ContainSingle().Which.Should().StartWith("Tls:CaFile, Tls:CertFile and Tls:KeyFile are not set")
            .And.Contain("certs ca").And.Contain("Tls:AllowInsecure=true");
    }

    [Theory]
    [InlineData("http://127.0.0.1:0", false, "must be https://")]
    [InlineData("https://127.0.0.1:0", true, "must be http://")]
    public void Build_ListenUrlSchemeAgainstTlsMode_NamesTheKey(string listenUrl, bool insecure, string expected)
    {
        var args = new List<string> { "--Scheduler:ListenUrl=" + listenUrl, "--Metrics:ListenUrl=http://127.0.0.1:0" };
        args.AddRange(insecure ? ["--Tls:AllowInsecure=true"] : _certificates.Issue("scheduler").Arguments);

        var app = SchedulerApp.Build([.. args], out var errors);

        app.Should().BeNull();
        errors.Should().ContainSingle().Which.Should().StartWith("Scheduler:ListenUrl").And.Contain(expected);
    }

    [Fact]
    public async Task Build_Loopback_ServesGrpcAndOperationsOnSeparateListeners()
    {
        var app = SchedulerApp.Build(
            ["--Scheduler:ListenUrl=https://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0", .. _certificates.Issue("scheduler").Arguments],
            out var errors);
        errors.Should().BeEmpty();
        await using var running = app!;
        using var timeout = new CancellationTokenSource(Deadline);
        await app!.StartAsync(timeout.Token);
        try
        {
            // Kestrel reports addresses in the order the listeners were added: gRPC first, then operations.
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
            addresses.Should().HaveCount(2);
            var (grpcAddress, operationsAddress) = (new Uri(addresses[0]), new Uri(addresses[1]));

            using var http = new HttpClient();
            (await http.GetAsync(new Uri(operationsAddress, "/readyz"), timeout.Token)).StatusCode.Should().Be(HttpStatusCode.OK);
            (await http.GetAsync(new Uri(operationsAddress, "/healthz"), timeout.Token)).StatusCode.Should().Be(HttpStatusCode.OK);

            grpcAddress.Scheme.Should().Be("https", "the gRPC listener is mutual TLS");
            using var agent = _certificates.IssueCertificate("agent");
            using var channel = GrpcChannel.ForAddress(grpcAddress, new GrpcChannelOptions { HttpHandler = _certificates.CreateHandler(agent.Certificate) });
            var client = new WireScheduler.SchedulerClient(channel);
            var heartbeat = await client.HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "a" } }, cancellationToken: timeout.Token);
            heartbeat.SchedulerId.Should().NotBeEmpty();

            var metrics = await http.GetStringAsync(new Uri(operationsAddress, "/metrics"), timeout.Token);
            metrics.Should().Contain("peeragent_scheduler_decisions_total{outcome=\"parents\"}")
                .And.Contain("peeragent_scheduler_announce_streams")
                .And.Contain("peeragent_scheduler_hosts");

            // Neither listener serves the other's endpoints.
            using var h2 = new HttpRequestMessage(HttpMethod.Get, new Uri(grpcAddress, "/metrics"))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var tlsHttp = new HttpClient(_certificates.CreateHandler(agent.Certificate));
            (await tlsHttp.SendAsync(h2, timeout.Token)).StatusCode.Should().Be(HttpStatusCode.NotFound, "/metrics is not on the gRPC port");
            using var operationsChannel = GrpcChannel.ForAddress(operationsAddress);
            var onOperations = () => new WireScheduler.SchedulerClient(operationsChannel)
                .HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "a" } }, cancellationToken: timeout.Token).ResponseAsync;
            await onOperations.Should().ThrowAsync<RpcException>("gRPC is not on the operations port (HTTP/1.1 only)");

            using var anonymousChannel = GrpcChannel.ForAddress(grpcAddress, new GrpcChannelOptions { HttpHandler = _certificates.CreateHandler(client: null) });
            var anonymous = () => new WireScheduler.SchedulerClient(anonymousChannel)
                .HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "b" } }, cancellationToken: timeout.Token).ResponseAsync;
            // TLS 1.3: the client's side of the handshake completes before the server checks its certificate, so the
            // refusal surfaces while the call is sent (Internal) or while its answer is read (Unavailable).
            (await anonymous.Should().ThrowAsync<RpcException>("a client without a cluster certificate is refused during the TLS handshake"))
                .Which.StatusCode.Should().BeOneOf(StatusCode.Unavailable, StatusCode.Internal);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Build_AllowInsecure_ServesPlaintextH2c()
    {
        var app = SchedulerApp.Build(["--Scheduler:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0", "--Tls:AllowInsecure=true"], out var errors);
        errors.Should().BeEmpty();
        await using var running = app!;
        using var timeout = new CancellationTokenSource(Deadline);
        await app!.StartAsync(timeout.Token);
        try
        {
            var grpcAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            grpcAddress.Scheme.Should().Be("http");
            using var channel = GrpcChannel.ForAddress(grpcAddress);

            var heartbeat = await new WireScheduler.SchedulerClient(channel)
                .HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "a" } }, cancellationToken: timeout.Token);

            heartbeat.SchedulerId.Should().NotBeEmpty("Tls:AllowInsecure=true keeps the h2c listener");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
