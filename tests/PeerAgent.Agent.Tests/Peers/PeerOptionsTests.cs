using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Peers;

namespace PeerAgent.Agent.Tests.Peers;

public sealed class PeerOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        var options = new PeerOptions();

        new PeerOptionsValidator().Validate(Options.DefaultName, options).Succeeded.Should().BeTrue();
        options.ListenUrl.Should().Be("https://0.0.0.0:65002", "mutual TLS is on by default");
    }

    [Fact]
    public void Validate_EveryValueBad_ReportsEachKeyAndValue()
    {
        var options = new PeerOptions
        {
            ListenUrl = "ftp://x",
            ChunkBytes = 100,
            MaxConcurrentUploads = 0,
            MaxQueuedUploads = -1,
            UploadBytesPerSecond = -5,
        };

        var errors = new PeerOptionsValidator().Validate(Options.DefaultName, options).Failures;

        errors.Should().HaveCount(5);
        errors.Should().Contain(e => e.StartsWith("Peer:ListenUrl", StringComparison.Ordinal) && e.Contains("ftp://x", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:ChunkBytes", StringComparison.Ordinal) && e.Contains("100", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:MaxConcurrentUploads", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:MaxQueuedUploads", StringComparison.Ordinal) && e.Contains("-1", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Peer:UploadBytesPerSecond", StringComparison.Ordinal) && e.Contains("-5", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_HttpsUrls_Accepted()
    {
        var options = new PeerOptions { ListenUrl = "https://127.0.0.1:7000", AdvertiseUrl = "https://10.0.0.7:7000" };

        new PeerOptionsValidator().Validate(Options.DefaultName, options).Succeeded.Should().BeTrue("with mutual TLS the peer URLs are https:// (the scheme is checked against Tls at start)");
    }
}
