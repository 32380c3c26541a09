using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Tests.Downloads;

public sealed class ActiveDownloadTests : IAsyncLifetime
{
    private TempContentStore _temp = null!;

    public async Task InitializeAsync() => _temp = await TempContentStore.CreateAsync();

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TryRead_TakenAtStartOfTinyBlob_StillReadsAfterWriterFinished()
    {
        var content = "{\"tiny\":\"config\"}"u8.ToArray();
        var (download, reader) = Start(Digest.Compute(content), content.Length);

        (await RunAsync(download, content)).Should().BeNull();
        var copied = new MemoryStream();
        using (reader)
        {
            await reader.CopyToAsync(PipeWriter.Create(copied), 0, content.Length - 1, _ => { }, default);
        }

        copied.ToArray().Should().Equal(content);
        download.TryRead().Should().BeNull("once the writer and every reader are done the partial is released");
        download.Closed.IsCompleted.Should().BeTrue();
        _temp.Store.Contains(Digest.Compute(content)).Should().BeTrue();
    }

    [Fact]
    public async Task CopyTo_BytesDoNotMatchDigest_ThrowsBeforeLastByte()
    {
        var expected = RandomNumberGenerator.GetBytes(300_000);
        var sent = expected.ToArray();
        sent[150_000] ^= 0xFF;
        var (download, reader) = Start(Digest.Compute(expected), expected.Length);

        (await RunAsync(download, sent)).Should().BeOfType<DigestMismatchException>();
        var copied = new MemoryStream();
        var act = () => reader.CopyToAsync(PipeWriter.Create(copied), 0, expected.Length - 1, _ => { }, default);

        await act.Should().ThrowAsync<BlobTransferException>();
        copied.Length.Should().BeLessThan(expected.Length, "the last byte is only released after the digest verified");
        download.Closed.IsCompleted.Should().BeFalse("a reader still holds the partial");
        reader.Dispose();
        download.Closed.IsCompleted.Should().BeTrue();
        _temp.Store.Contains(Digest.Compute(expected)).Should().BeFalse();
    }

    [Fact]
    public async Task CopyTo_StartedBeforeBytesArrive_WakesAsWriterProgresses()
    {
        var content = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 17); // two pieces
        var (download, reader) = Start(Digest.Compute(content), content.Length);
        var copied = new MemoryStream();
        var sent = 0L;

        using (reader)
        {
            var copy = reader.CopyToAsync(PipeWriter.Create(copied), 0, content.Length - 1, n => sent += n, default);
            copy.IsCompleted.Should().BeFalse("nothing has been written yet");
            await RunAsync(download, content);
            await copy.WaitAsync(TimeSpan.FromSeconds(30));
        }

        copied.ToArray().Should().Equal(content);
        sent.Should().Be(content.Length);
    }

    private (ActiveDownload Download, DownloadReader Reader) Start(Digest digest, long length)
    {
        var download = new ActiveDownload(_temp.Store.OpenPartialOrFail(digest, length), new PeerTasks());
        var reader = download.TryRead()!;
        return (download, reader);
    }

    /// <summary>Runs the writer over <paramref name="body"/> as the origin's whole-blob 200 response, as the downloader does without a scheduler.</summary>
    private static async Task<Exception?> RunAsync(ActiveDownload download, byte[] body)
    {
        var fill = new SwarmFill(
            download.Partial,
            download,
            (_, _, _) => throw new InvalidOperationException("no range expected"),
            new NoParents(),
            new FillSettings(4, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), "self", MaxOriginResumes: 0, TimeSpan.FromSeconds(30)),
            TimeProvider.System,
            NullLogger.Instance);
        var body200 = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) };
        try
        {
            return await download.FillAndCommitAsync(token => fill.FillAsync(null, "no_length", body200, token), CancellationToken.None);
        }
        finally
        {
            download.Release(); // the writer's hold
        }
    }

    private sealed class NoParents : IParentClients
    {
        public IParentClient Get(string address) => throw new InvalidOperationException("no parents in this test");
    }
}
