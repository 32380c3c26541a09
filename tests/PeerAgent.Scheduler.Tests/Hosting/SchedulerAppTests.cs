using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Protocol.V1;
using PeerAgent.Scheduler.Hosting;
using WireScheduler = PeerAgent.Protocol.V1.Scheduler;

namespace PeerAgent.Scheduler.Tests.Hosting;

/// <summary>The scheduler process as <c>Program</c> builds it, on loopback ports picked at run time.</summary>
public sealed class SchedulerAppTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void Build_BadConfiguration_ReturnsEveryErrorNamingItsKey()
    {
        var app = SchedulerApp.Build(
            ["--Scheduler:ListenUrl=http://0.0.0.0", "--Metrics:ListenUrl=", "--Scheduler:FanOutLimit=lots", "--Scheduler:HostExpiry=00:00:00"],
            out var errors);

        app.Should().BeNull();
        errors.Should().HaveCount(4);
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:ListenUrl ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Metrics:ListenUrl ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:FanOutLimit ", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("Scheduler:HostExpiry ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Build_Loopback_ServesGrpcAndOperationsOnSeparateListeners()
    {
        var app = SchedulerApp.Build(["--Scheduler:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0"], out var errors);
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

            using var channel = GrpcChannel.ForAddress(grpcAddress);
            var client = new WireScheduler.SchedulerClient(channel);
            var heartbeat = await client.HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "a" } }, cancellationToken: timeout.Token);
            heartbeat.SchedulerId.Should().NotBeEmpty();

            var metrics = await http.GetStringAsync(new Uri(operationsAddress, "/metrics"), timeout.Token);
            metrics.Should().Contain("peeragent_scheduler_decisions_total{outcome=\"parents\"}")
                .And.Contain("peeragent_scheduler_announce_streams")
                .And.Contain("peeragent_scheduler_hosts");

            // Neither listener serves the other's endpoints.
            using var h2c = new HttpRequestMessage(HttpMethod.Get, new Uri(grpcAddress, "/metrics"))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            (await http.SendAsync(h2c, timeout.Token)).StatusCode.Should().Be(HttpStatusCode.NotFound, "/metrics is not on the gRPC port");
            using var operationsChannel = GrpcChannel.ForAddress(operationsAddress);
            var onOperations = () => new WireScheduler.SchedulerClient(operationsChannel)
                .HeartbeatAsync(new HeartbeatRequest { Host = new HostInfo { HostId = "a" } }, cancellationToken: timeout.Token).ResponseAsync;
            await onOperations.Should().ThrowAsync<RpcException>("gRPC is not on the operations port (HTTP/1.1 only)");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
