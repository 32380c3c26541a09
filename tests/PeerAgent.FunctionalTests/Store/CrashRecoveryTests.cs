using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Store;

/// <summary>
/// The agent is SIGKILLed in the middle of a download, optionally with its partial data damaged afterwards, and
/// restarted on the same data dir: it may resume or refetch, but must never serve or commit wrong bytes.
/// </summary>
public sealed class CrashRecoveryTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    private const long ThrottleBytesPerSecond = 2_000_000;
    private const long KillAfterBytes = 5L << 20; // past the first 4 MiB piece

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(fixture.Origin);
        await fixture.Origin.ResetAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetBlob_KilledMidDownloadThenRestarted_ServesOnlyVerifiedBytes(bool corruptPartialAfterKill)
    {
        var image = fixture.Image;
        var blob = image.LargestLayer;
        blob.Size.Should().BeGreaterThan(12L << 20, "the blob must span several pieces");
        await using var proxy = FaultyProxy.Start(fixture.Origin.Endpoint);
        proxy.SetThrottle(ThrottleBytesPerSecond);
        Diagnose("proxy requests", () => string.Join('\n', proxy.Requests));
        var agent = await StartAgentAsync(AgentOptions.ForOrigin(fixture.Origin, endpoint: proxy.Url));
        var partial = agent.PartialDataPath(blob.Digest);

        Task<MirrorResponse> interrupted;
        using (var client = agent.CreateMirrorClient(TimeSpan.FromSeconds(60)))
        {
            interrupted = MirrorHttp.GetBlobAsync(client, image, blob);
            await Wait.UntilAsync(
                () => proxy.BlobBodyBytesForwarded >= KillAfterBytes && File.Exists(partial),
                TimeSpan.FromSeconds(30),
                $"the agent has received {KillAfterBytes} bytes and has a partial file at {partial}");

            agent.KillHard();
            var cut = await interrupted;
            cut.CompletedSuccessfully.Should().BeFalse("the agent died mid-transfer: {0}", cut);
        }

        File.Exists(agent.CommittedBlobPath(blob.Digest)).Should().BeFalse("the download was not finished");
        if (corruptPartialAfterKill)
        {
            FlipByte(partial, offset: 1L << 20);
        }

        proxy.Mode = FaultMode.PassThrough;
        await agent.RestartAsync();

        using var retryClient = agent.CreateMirrorClient(TimeSpan.FromSeconds(60));
        MirrorResponse? served = null;
        for (var attempt = 1; attempt <= 2 && served is null; attempt++)
        {
            var response = await MirrorHttp.GetBlobAsync(retryClient, image, blob);
            Output.WriteLine($"attempt {attempt}: {response}");
            if (response.CompletedSuccessfully)
            {
                response.BodyDigest.Should().Be(blob.Digest, "a complete 2xx body must match the digest (attempt {0})", attempt);
                served = response;
            }
        }

        served.Should().NotBeNull("after a restart with a healthy upstream the blob must be served within two attempts");
        var committed = agent.CommittedBlobPath(blob.Digest);
        await Wait.UntilAsync(() => File.Exists(committed), TimeSpan.FromSeconds(30), "the blob is committed after the restart");
        (await TestImageBuilder.Sha256DigestOfFileAsync(committed)).Should().Be(blob.Digest, "only verified bytes may be committed");
        agent.ShouldHaveNoCriticalErrors();
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Length.Should().BeGreaterThan(offset, "the partial file holds the first piece");
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0xFF));
        file.Flush(flushToDisk: true);
    }
}
