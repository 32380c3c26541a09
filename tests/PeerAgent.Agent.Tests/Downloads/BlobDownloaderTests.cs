using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Downloads;
using PeerAgent.Agent.Peers;
using PeerAgent.Agent.Swarm;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;
using RegistryOptions = PeerAgent.Agent.Configuration.RegistryOptions;

namespace PeerAgent.Agent.Tests.Downloads;

/// <summary>The downloader against a scripted origin, with no scheduler reachable (downloads go to the origin).</summary>
public sealed class BlobDownloaderTests : IAsyncLifetime
{
    private TempContentStore _temp = null!;
    private readonly byte[] _content = RandomNumberGenerator.GetBytes(300_000);
    private readonly UpstreamOptions _upstreamOptions = new() { MaxRetries = 0, RetryDelay = TimeSpan.FromMilliseconds(1) };
    private int _failRanges;

    public async Task InitializeAsync() => _temp = await TempContentStore.CreateAsync();

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Fetch_RightAfterAFailedDownloadWhoseReaderLingers_StartsAFreshDownload()
    {
        await using var origin = await FakeUpstream.StartAsync(ServeBlobAsync);
        using var registry = new UpstreamRegistry(origin.Host, new RegistryOptions { Host = origin.Host, PlainHttp = true }, _upstreamOptions, TimeProvider.System, NullLogger.Instance);
        var target = new UpstreamTarget(registry, "repo");
        var downloader = NewDownloader();
        var digest = Digest.Compute(_content);
        _failRanges = 1; // the first body read fails: the first download fails with its reader still holding it

        var first = await downloader.FetchAsync(target, digest, null, default);
        var lingering = first.Should().BeOfType<BlobFetch.Started>().Subject.Reader;
        var failed = () => lingering.Finished;
        await failed.Should().ThrowAsync<IOException>();

        var retry = downloader.FetchAsync(target, digest, null, default);
        retry.IsCompleted.Should().BeFalse("the failed download's partial is still open for its reader; the retry waits for it to close");
        lingering.Dispose();
        var second = await retry.WaitAsync(TimeSpan.FromSeconds(30));

        using var reader = second.Should().BeOfType<BlobFetch.Started>("a fresh download starts, not a 500 for a partial still open").Subject.Reader;
        var copied = new MemoryStream();
        await reader.CopyToAsync(PipeWriter.Create(copied), 0, _content.Length - 1, _ => { }, default);
        copied.ToArray().Should().Equal(_content);
        await reader.Finished.WaitAsync(TimeSpan.FromSeconds(30));
        _temp.Store.Contains(digest).Should().BeTrue();
    }

    [Fact]
    public async Task Fetch_ManyAtOnce_OneDownloadAndEveryReaderGetsTheBlob()
    {
        await using var origin = await FakeUpstream.StartAsync(ServeBlobAsync);
        using var registry = new UpstreamRegistry(origin.Host, new RegistryOptions { Host = origin.Host, PlainHttp = true }, _upstreamOptions, TimeProvider.System, NullLogger.Instance);
        var target = new UpstreamTarget(registry, "repo");
        var downloader = NewDownloader();
        var digest = Digest.Compute(_content);

        var fetches = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => downloader.FetchAsync(target, digest, null, default)));

        fetches.OfType<BlobFetch.Started>().Should().HaveCount(1, "concurrent misses coalesce into one download");
        foreach (var fetch in fetches)
        {
            if (fetch is BlobFetch.Cached)
            {
                continue; // arrived after the commit
            }

            using var reader = fetch is BlobFetch.Started s ? s.Reader : ((BlobFetch.Joined)fetch).Reader;
            var copied = new MemoryStream();
            await reader.CopyToAsync(PipeWriter.Create(copied), 0, _content.Length - 1, _ => { }, default);
            copied.ToArray().Should().Equal(_content);
        }

        origin.Requests.Count(r => r.Method == "GET").Should().Be(1);
        await Wait.UntilAsync(() => Task.FromResult(downloader.InFlight == 0), TimeSpan.FromSeconds(30), "the download's slot is released once every reader let go");
    }

    private BlobDownloader NewDownloader()
    {
        var peer = new PeerOptions { ListenUrl = "http://127.0.0.1:0" }; // plaintext: nothing here dials a peer
        var scheduler = new SchedulerConnection(
            Options.Create(new SchedulerClientOptions { Address = "http://127.0.0.1:1", ConnectTimeout = TimeSpan.FromSeconds(2) }), // nothing listens there
            Options.Create(peer),
            Options.Create(new NodeOptions { Name = "test" }),
            PeerUploadLimits.Create(peer),
            TimeProvider.System,
            TransportSecurity.Plaintext(),
            NullLogger<SchedulerConnection>.Instance);
        return new BlobDownloader(
            _temp.Store, Options.Create(_upstreamOptions), Options.Create(peer), scheduler, new FakeParents(), new RecentSeeds(), new PeerTasks(),
            TimeProvider.System, NullLogger<BlobDownloader>.Instance, new Lifetime());
    }

    private async Task ServeBlobAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.ContentLength = _content.Length;
            return;
        }

        if (Interlocked.Decrement(ref _failRanges) >= 0)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        context.Response.ContentLength = _content.Length;
        await context.Response.Body.WriteAsync(_content);
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
