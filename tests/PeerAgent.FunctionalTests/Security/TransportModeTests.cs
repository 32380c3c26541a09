using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Security;

/// <summary>Certificate rotation while the agent runs, and the plaintext switch.</summary>
public sealed class TransportModeTests(ITestOutputHelper output) : FunctionalTestBase(output)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Rotation_SecretVolumeUpdated_NewConnectionsGetTheNewCertificateAndOpenOnesContinue()
    {
        var ca = Own(TestCertificates.Create("rotation CA"));
        var volumeDir = Own(new TempDir("secret"));
        var volume = await SecretVolume.CreateAsync(volumeDir.Path, ca, "node-1");
        var first = volume.Serial;
        var agent = await StartAgentAsync(new AgentOptions
        {
            DefaultRegistry = "127.0.0.1:9",
            NodeName = "node-1",
            Tls = volume.Files,
            ExtraArgs = ["--Tls:ReloadInterval=00:00:00.500"],
        });
        using var member = ca.IssueCertificate("test client");
        await using var open = await Http2Probe.ConnectTlsAsync(agent.PeerPort, member.Certificate, ProbeTimeout);
        (await open.ReadsServerSettingsAsync(ProbeTimeout)).Answered.Should().BeTrue();
        open.ServerCertificate!.SerialNumber.Should().Be(first);

        var rotated = await volume.UpdateAsync();

        string? presented = null;
        await Wait.UntilAsync(
            async () =>
            {
                var probe = await Http2Probe.TryTlsAsync(agent.PeerPort, member.Certificate, ProbeTimeout);
                presented = probe.ServerCertificate?.SerialNumber;
                return probe.Answered && presented == rotated;
            },
            TimeSpan.FromSeconds(30),
            $"a new connection is served with the rotated certificate {rotated} (last seen: {presented})");
        (await open.PingAsync(ProbeTimeout)).Should().BeTrue("the connection made with the old certificate keeps working");
        agent.LogText.Should().Contain("TLS files changed: new handshakes use certificate serial " + rotated);
        await Wait.UntilAsync(
            () => agent.LogText.Contains("Scheduler https://127.0.0.1:", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the agent reaches its embedded scheduler over mutual TLS");
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task AllowInsecure_PeerPortSpeaksH2cAndWarns()
    {
        var agent = await StartAgentAsync(new AgentOptions { DefaultRegistry = "127.0.0.1:9", NodeName = "node-1", AllowInsecure = true });

        var plaintext = await Http2Probe.TryPlaintextAsync(agent.PeerPort, ProbeTimeout);
        using var member = TestCertificates.Shared.IssueCertificate("test client");
        var tls = await Http2Probe.TryTlsAsync(agent.PeerPort, member.Certificate, ProbeTimeout);

        plaintext.Answered.Should().BeTrue("Tls:AllowInsecure=true keeps prior-knowledge h2c ({0})", plaintext.Outcome);
        tls.Answered.Should().BeFalse("there is no TLS in insecure mode");
        agent.LogText.Should().Contain("Tls:AllowInsecure=true: the peer and scheduler ports and their clients speak plaintext h2c");
        agent.LogText.Should().Contain("warn: PeerAgent.Hosting.Tls.TransportSecurity[6001]");
    }
}
