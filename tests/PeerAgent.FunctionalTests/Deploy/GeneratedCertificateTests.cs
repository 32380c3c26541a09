using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>The CA and certificate the chart generates (sprig, not our own certs command) work with the real agent and scheduler.</summary>
public sealed class GeneratedCertificateTests(ITestOutputHelper output) : FunctionalTestBase(output)
{
    [Fact]
    public async Task GeneratedTls_AgentAndSchedulerSharingIt_HeartbeatOverMutualTls()
    {
        var secret = (await ChartValueSets.ObjectsAsync("defaults")).Single(o => o.Kind == "Secret");
        using var dir = new TempDir("tls");
        var tls = RenderedNode.WriteTlsSecret(secret, dir.Path);
        var scheduler = await StartSchedulerAsync(new SchedulerProcessOptions { Tls = tls });
        // No origin: only the scheduler connection matters here.
        var agent = await StartAgentAsync(new AgentOptions
        {
            DefaultRegistry = "127.0.0.1:9",
            SchedulerAddress = scheduler.Address,
            NodeName = "node-1",
            Tls = tls,
        });

        await Wait.UntilAsync(
            () => agent.LogText.Contains($"Scheduler {scheduler.Address} answers", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the agent's heartbeat reaches the scheduler with the chart's generated certificate on both ends");
        agent.ShouldHaveNoErrors();
        scheduler.ErrorLines.Should().BeEmpty();
    }
}
