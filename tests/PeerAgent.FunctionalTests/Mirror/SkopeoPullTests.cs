using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Mirror;

/// <summary>skopeo with a registries.conf mirror: no ns query, so the agent must use Mirror:DefaultRegistry.</summary>
public sealed class SkopeoPullTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    [Fact]
    public async Task CopyToDir_RegistriesConfMirror_BlobsComeThroughAgentAndVerify()
    {
        var origin = fixture.Origin;
        var image = fixture.Image;
        DiagnoseOrigin(origin);
        await origin.ResetAsync();
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(origin));
        var work = Own(new TempDir("skopeo"));
        var conf = SkopeoClient.WriteRegistriesConf(work.File("registries.conf"), origin.Endpoint, agent.MirrorHost);
        var dest = Path.Combine(work.Path, "image");

        var copy = await SkopeoClient.CopyToDirAsync($"docker://{image.Reference}", dest, conf);
        Output.WriteLine(copy.ToString());

        foreach (var blob in image.Blobs)
        {
            var file = Path.Combine(dest, blob.Hex);
            File.Exists(file).Should().BeTrue("skopeo's dir: destination stores blob {0} as its hex", blob.Digest);
            (await TestImageBuilder.Sha256DigestOfFileAsync(file)).Should().Be(blob.Digest);
        }

        await origin.WaitForQuietAsync();
        origin.BlobBytesByDigest.Should().BeEquivalentTo(
            image.Blobs.ToDictionary(b => b.Digest, b => b.Size),
            "each blob leaves the origin once, fetched by the agent (twice would mean skopeo fell back)");
        var metrics = await agent.GetMetricsAsync();
        metrics.Sum("peeragent_upstream_received_bytes_total", ("kind", "blob")).Should().Be(
            image.TotalBlobBytes, "the agent fetched every blob\n{0}", metrics.Describe("peeragent_"));
        metrics.Sum("peeragent_mirror_served_bytes_total", ("kind", "blob")).Should().BeGreaterThanOrEqualTo(image.TotalBlobBytes);
        agent.ShouldHaveNoErrors();
    }
}
