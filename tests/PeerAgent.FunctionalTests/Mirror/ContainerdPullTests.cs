using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Mirror;

/// <summary>
/// A real containerd pulls through the agent via hosts.toml. containerd silently falls back to the origin when
/// the mirror fails, so every test proves the path from the origin's access log and the agent's metrics.
/// </summary>
public sealed class ContainerdPullTests(OriginFixture fixture, ITestOutputHelper output)
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
    public async Task Pull_ColdAgent_EveryBlobFetchedFromOriginOnceByAgent()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));

        await PullWithFreshContainerdAsync(agent);

        await Origin.WaitForQuietAsync();
        Origin.BlobBytesByDigest.Should().BeEquivalentTo(
            Image.Blobs.ToDictionary(b => b.Digest, b => b.Size),
            "the origin must serve each blob exactly once (a second copy means containerd fell back to the origin)");
        Origin.BlobBytesServed.Should().Be(Image.TotalBlobBytes);
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum(UpstreamBytes, ("kind", "blob")).Should().Be(
            Image.TotalBlobBytes, "the agent itself fetched every blob byte\n{0}", metrics.Describe("peeragent_"));
        metrics.Sum(ServedBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(
            Image.TotalBlobBytes, "containerd got every blob byte from the agent\n{0}", metrics.Describe("peeragent_"));
        agent.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task Pull_FreshContainerdWarmAgent_OriginServesNoBlobBytes()
    {
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(Origin));
        await PullWithFreshContainerdAsync(agent);
        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(Image.TotalBlobBytes, "the cold pull fetched each blob once");
        await Origin.ResetAsync();
        var before = await agent.GetMetricsAsync();
        before.Sum(UpstreamBytes, ("kind", "blob")).Should().Be(Image.TotalBlobBytes, "the cold pull went through the agent, not around it");

        await PullWithFreshContainerdAsync(agent);

        await Origin.WaitForQuietAsync();
        Origin.BlobBytesServed.Should().Be(0, "a warm agent serves every blob from its store\n{0}", Origin.DescribeRequests());
        var after = await agent.GetMetricsAsync();
        var fromCache = after.Sum(ServedBytes, ("kind", "blob"), ("source", "cache")) - before.Sum(ServedBytes, ("kind", "blob"), ("source", "cache"));
        fromCache.Should().Be(Image.TotalBlobBytes, "the second containerd got every blob from the agent's cache\n{0}", after.Describe("peeragent_"));
        (after.Sum(UpstreamBytes, ("kind", "blob")) - before.Sum(UpstreamBytes, ("kind", "blob"))).Should().Be(0);
        agent.ShouldHaveNoErrors();
    }

    private async Task PullWithFreshContainerdAsync(AgentProcess agent)
    {
        var containerd = await StartContainerdAsync();
        var hosts = Own(new TempDir("hosts"));
        ContainerdProcess.WriteHostsToml(hosts.Path, Origin.Endpoint, agent.MirrorUrl);
        var pull = await containerd.PullAsync(Image.Reference, hosts.Path);
        Output.WriteLine(pull.ToString());
    }
}
