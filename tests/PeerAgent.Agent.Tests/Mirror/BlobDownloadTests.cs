using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Swarm;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Tests.Mirror;

public sealed class BlobDownloadTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "peeragent-agent-tests", Guid.NewGuid().ToString("N"));
    private ContentStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new ContentStore(new ContentStoreOptions { RootPath = _root }, TimeProvider.System);
        await _store.InitializeAsync(default);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Lease_TakenAtStartOfTinyBlob_StillReadsAfterWriterFinished()
    {
        var content = "{\"tiny\":\"config\"}"u8.ToArray();
        var (download, lease) = Start(Digest.Compute(content), content.Length);

        await RunAsync(download, content);
        var copied = new MemoryStream();
        using (lease)
        {
            await lease.CopyToAsync(copied, 0, content.Length - 1, _ => { }, default);
        }

        copied.ToArray().Should().Equal(content);
        download.TryLease().Should().BeNull("once the writer and every lease are done the partial is released");
        _store.Contains(Digest.Compute(content)).Should().BeTrue();
    }

    [Fact]
    public async Task CopyTo_BytesDoNotMatchDigest_ThrowsBeforeLastByte()
    {
        var expected = RandomNumberGenerator.GetBytes(300_000);
        var sent = expected.ToArray();
        sent[150_000] ^= 0xFF;
        var (download, lease) = Start(Digest.Compute(expected), expected.Length);

        await RunAsync(download, sent);
        var copied = new MemoryStream();
        var act = () => lease.CopyToAsync(copied, 0, expected.Length - 1, _ => { }, default);

        await act.Should().ThrowAsync<BlobTransferException>();
        copied.Length.Should().BeLessThan(expected.Length, "the last byte is only released after the digest verified");
        lease.Dispose();
        _store.Contains(Digest.Compute(expected)).Should().BeFalse();
    }

    [Fact]
    public async Task CopyTo_StartedBeforeBytesArrive_WakesAsWriterProgresses()
    {
        var content = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 17); // two pieces
        var (download, lease) = Start(Digest.Compute(content), content.Length);
        var copied = new MemoryStream();
        var sent = 0L;

        using (lease)
        {
            var reader = lease.CopyToAsync(copied, 0, content.Length - 1, n => sent += n, default);
            reader.IsCompleted.Should().BeFalse("nothing has been written yet");
            await RunAsync(download, content);
            await reader.WaitAsync(TimeSpan.FromSeconds(30));
        }

        copied.ToArray().Should().Equal(content);
        sent.Should().Be(content.Length);
    }

    private (BlobDownload Download, Lease Lease) Start(Digest digest, long length)
    {
        var download = new BlobDownload(digest, length, _store.OpenPartialOrFail(digest, length));
        return (download, download.TryLease()!);
    }

    /// <summary>Runs the writer over <paramref name="body"/> as the origin's whole-blob 200 response.</summary>
    private static Task RunAsync(BlobDownload download, byte[] body) => download.RunAsync(
        (partial, token) =>
        {
            var origin = new OriginFetch(
                download,
                partial,
                new PieceClaims(partial.Layout.PieceCount),
                (_, _, _) => throw new InvalidOperationException("no resume expected"),
                (_, _) => download.PieceStored(),
                new AsyncPulse(),
                maxResumes: 0,
                idleTimeout: TimeSpan.FromSeconds(30),
                TimeProvider.System,
                NullLogger.Instance);
            return origin.RunAsync(0, partial.Layout.PieceCount, new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) }, token);
        },
        NullLogger.Instance,
        CancellationToken.None);
}
