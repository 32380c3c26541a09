using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Installer;

/// <summary>
/// The installer's certs.d in front of a real containerd: pulls go through the agent, and when the agent is gone
/// containerd falls back to the registry the user's hosts.toml named.
/// </summary>
public sealed class InstallerPullTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";
    private const string ServedBytes = "peeragent_mirror_served_bytes_total";

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task Pull_CertsDirFromInstaller_ThroughAgentThenOriginWhenAgentStops()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        var node = Own(new TempDir("node"));
        File.WriteAllText(Path.Join(node.Path, "config.toml"), "version = 2\n");
        // The user's own hosts.toml for this plain-HTTP registry: the installer keeps its server line as the fallback.
        var userHosts = $"server = \"http://{Origin.Endpoint}\"\n";
        var hostDir = Directory.CreateDirectory(Path.Join(node.Path, "certs.d", Origin.Endpoint)).FullName;
        File.WriteAllText(Path.Join(hostDir, "hosts.toml"), userHosts);
        var certsDir = Path.Join(node.Path, "certs.d");
        string[] common = ["--runtime", "containerd", "--containerd-config", Path.Join(node.Path, "config.toml"), "--certs-dir", certsDir, "--state-dir", Path.Join(node.Path, "state")];

        var install = await RunInstallerAsync(["install", .. common, "--registry", Origin.Endpoint, "--mirror-url", agent.MirrorUrl, "--edit-containerd-config"]);
        install.ExitCode.Should().Be(0, install.ToString());

        var containerd = await StartContainerdAsync();
        Output.WriteLine((await containerd.PullAsync(Image.Reference, certsDir)).ToString());
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum(UpstreamBytes, ("kind", "blob")).Should().Be(Image.TotalBlobBytes, "the agent fetched every blob\n{0}", metrics.Describe("peeragent_"));
        metrics.Sum(ServedBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(Image.TotalBlobBytes, "containerd got every blob byte from the agent");
        agent.ShouldHaveNoErrors();

        agent.KillHard();
        await Origin.WaitForQuietAsync();
        await Origin.ResetAsync();
        var fresh = await StartContainerdAsync();
        Output.WriteLine((await fresh.PullAsync(Image.Reference, certsDir)).ToString());
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(Image.TotalBlobBytes, "with the agent gone containerd pulled from the server line\n{0}", Origin.DescribeRequests());

        var uninstall = await RunInstallerAsync(["uninstall", .. common]);
        uninstall.ExitCode.Should().Be(0, uninstall.ToString());
        File.ReadAllText(Path.Join(hostDir, "hosts.toml")).Should().Be(userHosts);
        File.ReadAllText(Path.Join(node.Path, "config.toml")).Should().Be("version = 2\n");
    }

    private static Task<ProcessResult> RunInstallerAsync(string[] args) =>
        ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.InstallerDll, .. args], TimeSpan.FromMinutes(1), check: false);
}
