using System.Security.Cryptography.X509Certificates;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Security;

/// <summary>A scheduler process and an agent that uses it, both with certificates of the fixture's own CA.</summary>
public sealed class MutualTlsFixture : IAsyncLifetime
{
    private SchedulerProcess? _scheduler;
    private AgentProcess? _agent;

    public TestCertificates Certificates { get; } = TestCertificates.Create("mutual TLS test CA");

    public SchedulerProcess Scheduler => _scheduler ?? throw new InvalidOperationException("Fixture not initialised.");

    public AgentProcess Agent => _agent ?? throw new InvalidOperationException("Fixture not initialised.");

    public async Task InitializeAsync()
    {
        _scheduler = await SchedulerProcess.StartAsync(new SchedulerProcessOptions { Tls = Certificates.Issue("scheduler") });

        // No origin: these tests only talk to the peer and scheduler ports (nothing listens at the registry).
        _agent = await AgentProcess.StartAsync(new AgentOptions
        {
            DefaultRegistry = "127.0.0.1:9",
            SchedulerAddress = _scheduler.Address,
            NodeName = "node-1",
            Tls = Certificates.Issue("node-1"),
        });
    }

    public Task DisposeAsync()
    {
        _agent?.Dispose();
        _scheduler?.Dispose();
        Certificates.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The real peer port (which also serves an embedded scheduler) and the real scheduler port refuse, during the TLS
/// handshake, every client that is not a member of the cluster: before any HTTP/2 frame, so no gRPC method is reachable.
/// </summary>
public sealed class MutualTlsTests(MutualTlsFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<MutualTlsFixture>
{
    private const string PeerPort = "agent peer port";
    private const string SchedulerPort = "scheduler port";
    private const string Refused = "peeragent_tls_handshakes_refused_total";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string, string> NonMembers()
    {
        var data = new TheoryData<string, string>();
        foreach (var port in new[] { PeerPort, SchedulerPort })
        {
            foreach (var client in new[] { "no certificate", "another CA", "expired", "plaintext h2c" })
            {
                data.Add(port, client);
            }
        }

        return data;
    }

    public override Task InitializeAsync()
    {
        Diagnose("agent log (tail)", () => string.Join('\n', fixture.Agent.Logs.TakeLast(40)));
        Diagnose("scheduler log (tail)", () => string.Join('\n', fixture.Scheduler.Logs.TakeLast(40)));
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(NonMembers))]
    public async Task Handshake_NotAClusterMember_IsRefusedBeforeHttp2(string port, string client)
    {
        var target = port == PeerPort ? fixture.Agent.PeerPort : fixture.Scheduler.Port;
        var reason = client switch
        {
            "no certificate" => "no_certificate",
            "another CA" => "untrusted",
            "expired" => "expired",
            _ => null,
        };
        var before = await RefusalsAsync(port, reason);

        var (answered, outcome) = await ProbeAsync(target, client);

        Output.WriteLine($"{port}, {client}: {outcome}");
        answered.Should().BeFalse("the {0} must not speak HTTP/2 to a client with {1} ({2})", port, client, outcome);
        if (reason is not null)
        {
            await Wait.UntilAsync(
                async () => await RefusalsAsync(port, reason) > before,
                TimeSpan.FromSeconds(10),
                $"the {port} counts the refusal as {Refused}{{direction=\"inbound\",reason=\"{reason}\"}}");
        }
    }

    [Theory]
    [InlineData(PeerPort, "CN=node-1")]
    [InlineData(SchedulerPort, "CN=scheduler")]
    public async Task Handshake_ClusterCertificate_IsAnsweredWithTheServersOwn(string port, string subject)
    {
        var target = port == PeerPort ? fixture.Agent.PeerPort : fixture.Scheduler.Port;
        using var member = fixture.Certificates.IssueCertificate("test client");

        var (answered, outcome, server) = await Http2Probe.TryTlsAsync(target, member.Certificate, ProbeTimeout);

        answered.Should().BeTrue("a certificate of the cluster CA is accepted on the {0} ({1})", port, outcome);
        server!.Subject.Should().Be(subject);
        using var authority = X509CertificateLoader.LoadCertificate(fixture.Certificates.Authority.Certificate.RawData);
        server.Issuer.Should().Be(authority.Subject);
    }

    [Fact]
    public async Task Agent_SchedulerOfTheSameCa_HeartbeatsOverMutualTls()
    {
        await Wait.UntilAsync(
            () => fixture.Agent.LogText.Contains($"Scheduler {fixture.Scheduler.Address} answers", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the agent's heartbeat reaches the scheduler over mutual TLS");
        fixture.Agent.ShouldHaveNoErrors();
        fixture.Scheduler.ErrorLines.Should().BeEmpty();
    }

    [Fact]
    public async Task Agent_SchedulerOfAnotherCa_RefusesItsCertificate()
    {
        var otherCa = Own(TestCertificates.Create("another CA"));
        var impostor = await StartSchedulerAsync(new SchedulerProcessOptions { Tls = otherCa.Issue("scheduler") });
        var agent = await StartAgentAsync(new AgentOptions
        {
            DefaultRegistry = "127.0.0.1:9",
            SchedulerAddress = impostor.Address,
            NodeName = "node-2",
            Tls = fixture.Certificates.Issue("node-2"),
        });

        await Wait.UntilAsync(
            async () => (await agent.GetMetricsAsync()).Sum(Refused, ("direction", "outbound"), ("reason", "untrusted")) > 0,
            TimeSpan.FromSeconds(30),
            "the agent refuses a scheduler whose certificate is not of its CA");
        agent.LogText.Should().NotContain("answers (scheduler id", "no heartbeat may get through to a scheduler outside the cluster");
    }

    private async Task<(bool Answered, string Outcome)> ProbeAsync(int port, string client)
    {
        var now = TimeProvider.System.GetUtcNow();
        switch (client)
        {
            case "plaintext h2c":
                return await Http2Probe.TryPlaintextAsync(port, ProbeTimeout);
            case "no certificate":
                return Outcome(await Http2Probe.TryTlsAsync(port, null, ProbeTimeout));
            case "another CA":
                using (var otherCa = TestCertificates.Create("another CA"))
                using (var stranger = otherCa.IssueCertificate("stranger"))
                {
                    return Outcome(await Http2Probe.TryTlsAsync(port, stranger.Certificate, ProbeTimeout));
                }

            case "expired":
                using (var expired = fixture.Certificates.IssueCertificate("expired", now.AddDays(-10), now.AddDays(-1)))
                {
                    return Outcome(await Http2Probe.TryTlsAsync(port, expired.Certificate, ProbeTimeout));
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(client), client, null);
        }

        static (bool, string) Outcome((bool Answered, string Outcome, X509Certificate2? Server) probe) => (probe.Answered, probe.Outcome);
    }

    private async Task<double> RefusalsAsync(string port, string? reason)
    {
        if (reason is null)
        {
            return 0;
        }

        var metrics = port == PeerPort ? await fixture.Agent.GetMetricsAsync() : await fixture.Scheduler.GetMetricsAsync();
        return metrics.Sum(Refused, ("direction", "inbound"), ("reason", reason));
    }
}
