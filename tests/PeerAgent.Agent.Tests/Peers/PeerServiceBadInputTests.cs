using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>
/// Hostile or broken requests against the real peer service over a real HTTP/2 channel: each gets a status, none
/// crashes the call, logs an error, or reads outside the blob.
/// </summary>
public sealed class PeerServiceBadInputTests
{
    private const int PieceSize = PieceLayout.MinPieceSize;
    private const int PieceCount = 2;
    private const string DownloadPieceMethod = "DownloadPiece";
    private const string SyncPiecesMethod = "SyncPieces";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string Hex64 = new('a', 64);

    /// <summary>Where the task lives on the server: committed, still downloading (registered partial), or nowhere.</summary>
    public enum Holding
    {
        Committed,
        Partial,
        Unknown,
    }

    public static TheoryData<string> BadDigests => new()
    {
        "",
        "sha256",
        "sha256:",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha1:a9993e364706816aba3e25717850c26c9cd0d89d",
        "SHA256:" + Hex64,
        "sha256:" + Hex64[..63],
        "sha256:" + Hex64 + "a",
        "sha256:" + Hex64.ToUpperInvariant(),
        "sha256:" + Hex64[..63] + "g",
        "sha512:" + Hex64,
        " sha256:" + Hex64,
        "sha256:" + Hex64 + "\n",
        new string('x', 2000),
    };

    [Theory]
    [InlineData(Holding.Committed, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, int.MinValue, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, PieceCount, StatusCode.OutOfRange)]
    [InlineData(Holding.Committed, int.MaxValue, StatusCode.OutOfRange)]
    [InlineData(Holding.Partial, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Partial, PieceCount, StatusCode.OutOfRange)]
    [InlineData(Holding.Partial, int.MaxValue, StatusCode.OutOfRange)]
    [InlineData(Holding.Partial, 0, StatusCode.NotFound)]
    [InlineData(Holding.Unknown, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Unknown, PieceCount, StatusCode.NotFound)]
    [InlineData(Holding.Unknown, int.MaxValue, StatusCode.NotFound)]
    public async Task DownloadPiece_IndexNotServable_StatusAndNoBytes(Holding holding, int index, StatusCode expected)
    {
        await using var fixture = await Fixture.StartAsync(holding);

        var (status, messages) = await fixture.DownloadAsync(new DownloadPieceRequest { TaskDigest = fixture.Task.ToString(), PieceIndex = index });

        status.StatusCode.Should().Be(expected, because: $"piece {index} of a {holding} task of {PieceCount} pieces ({status.Detail})");
        messages.Should().Be(0, "no piece bytes go out on a refused request");
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData(Holding.Committed)]
    [InlineData(Holding.Partial)]
    [InlineData(Holding.Unknown)]
    public async Task DownloadPiece_ExpectedSha256NotRaw32Bytes_InvalidArgument(Holding holding)
    {
        await using var fixture = await Fixture.StartAsync(holding);

        foreach (var length in new[] { 1, 31, 33, 64, 4000 })
        {
            var request = new DownloadPieceRequest { TaskDigest = fixture.Task.ToString(), PieceIndex = 1, ExpectedSha256 = ByteString.CopyFrom(new byte[length]) };

            var (status, messages) = await fixture.DownloadAsync(request);

            status.StatusCode.Should().Be(StatusCode.InvalidArgument, because: $"a {length}-byte expected_sha256 is not a sha256 ({status.Detail})");
            messages.Should().Be(0);
        }

        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(BadDigests))]
    public async Task BothCalls_TaskDigestMalformed_InvalidArgument(string digest)
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);

        var (download, _) = await fixture.DownloadAsync(new DownloadPieceRequest { TaskDigest = digest, PieceIndex = 0 });
        var (sync, _) = await fixture.SyncAsync(new SyncPiecesRequest { TaskDigest = digest });

        download.StatusCode.Should().Be(StatusCode.InvalidArgument, because: download.Detail);
        sync.StatusCode.Should().Be(StatusCode.InvalidArgument, because: sync.Detail);
        download.Detail.Length.Should().BeLessThan(300, "a hostile value is not echoed back in full");
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData(Holding.Committed, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, long.MinValue, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, long.MaxValue, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, PieceRequests.MaxContentLength + 1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Committed, PieceRequests.MaxContentLength, StatusCode.FailedPrecondition)]
    [InlineData(Holding.Committed, 1, StatusCode.FailedPrecondition)]
    [InlineData(Holding.Partial, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Partial, long.MaxValue, StatusCode.InvalidArgument)]
    [InlineData(Holding.Partial, 1, StatusCode.FailedPrecondition)]
    [InlineData(Holding.Unknown, -1, StatusCode.InvalidArgument)]
    [InlineData(Holding.Unknown, long.MaxValue, StatusCode.InvalidArgument)]
    [InlineData(Holding.Unknown, 1, StatusCode.NotFound)]
    public async Task SyncPieces_ContentLengthNotThisBlobs_Status(Holding holding, long contentLength, StatusCode expected)
    {
        await using var fixture = await Fixture.StartAsync(holding);

        var (status, messages) = await fixture.SyncAsync(new SyncPiecesRequest { TaskDigest = fixture.Task.ToString(), ContentLength = contentLength });

        status.StatusCode.Should().Be(expected, because: $"content_length {contentLength} for a {holding} task ({status.Detail})");
        messages.Should().Be(0);
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData(DownloadPieceMethod, 1024 * 1024)]
    [InlineData(SyncPiecesMethod, 1024 * 1024)]
    [InlineData(DownloadPieceMethod, PieceRequests.MaxRequestBytes)]
    [InlineData(SyncPiecesMethod, PieceRequests.MaxRequestBytes)]
    public async Task BothCalls_MessageLargerThanReceiveLimit_ResourceExhaustedWithoutReadingIt(string method, int digestHexLength)
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);
        var hugeDigest = "sha256:" + new string('a', digestHexLength);
        var request = method == DownloadPieceMethod
            ? new DownloadPieceRequest { TaskDigest = hugeDigest }.ToByteArray()
            : new SyncPiecesRequest { TaskDigest = hugeDigest }.ToByteArray();

        var (status, messages) = await fixture.CallRawAsync(method, request);

        status.StatusCode.Should().Be(StatusCode.ResourceExhausted, because: status.Detail);
        messages.Should().Be(0);
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task DownloadPiece_CompressedRequest_InflatedUpToTheLimitOnly(string encoding)
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);
        var honest = Frame(Compress(new DownloadPieceRequest { TaskDigest = fixture.Task.ToString(), PieceIndex = 0 }.ToByteArray(), encoding));
        var bomb = Frame(Compress(new DownloadPieceRequest { TaskDigest = "sha256:" + new string('a', 1024 * 1024) }.ToByteArray(), encoding));
        bomb.Length.Should().BeLessThan(PieceRequests.MaxRequestBytes, "the compressed request is within the receive limit");

        var served = await fixture.PostAsync(DownloadPieceMethod, honest, encoding);
        var refused = await fixture.PostAsync(DownloadPieceMethod, bomb, encoding);

        served.Should().Be(StatusCode.OK, "a compressed request is read as any other");
        refused.Should().Be(StatusCode.ResourceExhausted, "the limit holds for the inflated message too");
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public void ReceiveLimit_FitsTheLargestHonestRequest()
    {
        var sha512 = "sha512:" + new string('a', 128);
        var largest = Math.Max(
            new DownloadPieceRequest { TaskDigest = sha512, PieceIndex = int.MaxValue, ExpectedSha256 = ByteString.CopyFrom(new byte[32]) }.CalculateSize(),
            new SyncPiecesRequest { TaskDigest = sha512, ContentLength = long.MaxValue }.CalculateSize());

        PieceRequests.MaxRequestBytes.Should().BeGreaterThan(4 * largest, "later fields must fit too");
    }

    public static TheoryData<string, byte[]> GarbageMessages => new()
    {
        // Each is a whole gRPC message body that is not a valid protobuf encoding of the request.
        { DownloadPieceMethod, [0xFF, 0xFF, 0xFF, 0xFF] },                         // a tag whose varint never ends
        { DownloadPieceMethod, [0x0A, 0x7F, 0x73] },                               // task_digest claims 127 bytes, has 1
        { DownloadPieceMethod, [0x0A, 0x02, 0xC3, 0x28] },                         // task_digest is not UTF-8
        { DownloadPieceMethod, [0x0C] },                                          // an end-group with no start
        { DownloadPieceMethod, [.. Enumerable.Repeat((byte)0x0B, 500)] },           // groups nested past the recursion limit
        { DownloadPieceMethod, [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] }, // an 11-byte varint
        { SyncPiecesMethod, [0xFF, 0xFF, 0xFF, 0xFF] },
        { SyncPiecesMethod, [0x0A, 0x02, 0xC3, 0x28] },
        { SyncPiecesMethod, [0x10] },                                              // content_length tag, no value
        { SyncPiecesMethod, [.. Enumerable.Repeat((byte)0x0B, 500)] },
    };

    [Theory]
    [MemberData(nameof(GarbageMessages))]
    public async Task BothCalls_MessageIsNotProtobuf_InvalidArgumentAndNoErrorLogged(string method, byte[] body)
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);

        var (status, messages) = await fixture.CallRawAsync(method, body);
        var (after, _) = await fixture.DownloadAsync(new DownloadPieceRequest { TaskDigest = fixture.Task.ToString(), PieceIndex = 0 });

        status.StatusCode.Should().Be(StatusCode.InvalidArgument, because: $"{Convert.ToHexString(body)} is no request ({status.Detail})");
        messages.Should().Be(0);
        after.StatusCode.Should().Be(StatusCode.OK, "the server goes on serving");
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task DownloadPiece_RequestWithFieldsOfALaterVersion_Served()
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);
        var request = new DownloadPieceRequest { TaskDigest = fixture.Task.ToString(), PieceIndex = 1 }.ToByteArray();
        byte[] later = [0x78, 0x2A, 0x82, 0x01, 0x03, 0x61, 0x62, 0x63]; // field 15 = 42, field 16 = "abc"

        var (status, messages) = await fixture.CallRawAsync(DownloadPieceMethod, [.. request, .. later]);

        status.StatusCode.Should().Be(StatusCode.OK, because: status.Detail);
        messages.Should().BePositive("fields are only ever added; an older server ignores the new ones");
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 100, 0x0A, 0x01 })]   // the frame claims 100 bytes, 2 follow
    [InlineData(new byte[] { 1, 0, 0, 0, 2, 0x0A, 0x00 })]     // compressed, with no grpc-encoding
    [InlineData(new byte[] { 0, 0x7F, 0xFF, 0xFF, 0xFF })]     // a 2 GiB message announced
    [InlineData(new byte[] { 0, 0, 0 })]                       // half a frame header
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]  // two empty messages on a unary request
    public async Task DownloadPiece_BrokenGrpcFraming_StatusAndNoErrorLogged(byte[] body)
    {
        await using var fixture = await Fixture.StartAsync(Holding.Committed);

        var status = await fixture.PostAsync(DownloadPieceMethod, body);

        status.Should().NotBeNull().And.NotBe(StatusCode.OK, because: $"{Convert.ToHexString(body)} is no valid call");
        fixture.Host.Logs.Errors.Should().BeEmpty();
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    private static byte[] Compress(byte[] message, string encoding)
    {
        using var output = new MemoryStream();
        Stream compressor = encoding == "gzip"
            ? new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true)
            : new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true);
        using (compressor)
        {
            compressor.Write(message);
        }

        return output.ToArray();
    }

    /// <summary>One gRPC length-prefixed message, flagged compressed.</summary>
    private static byte[] Frame(byte[] compressed)
    {
        var frame = new byte[5 + compressed.Length];
        frame[0] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), compressed.Length);
        compressed.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>A server holding one blob of <see cref="PieceCount"/> pieces in the given way, and a raw channel to it.</summary>
    private sealed class Fixture : IAsyncDisposable
    {
        private readonly List<IDisposable> _owned = [];

        private Fixture(PeerTestHost host, Digest task, GrpcChannel channel)
        {
            Host = host;
            Task = task;
            Channel = channel;
            Client = new Peer.PeerClient(channel);
        }

        public PeerTestHost Host { get; }
        public Digest Task { get; }
        public GrpcChannel Channel { get; }
        public Peer.PeerClient Client { get; }

        public static async Task<Fixture> StartAsync(Holding holding)
        {
            var host = await PeerTestHost.StartAsync();
            var content = TestContent.Random(PieceSize + 1000);
            var digest = Digest.Compute(content);
            var fixture = new Fixture(host, digest, GrpcChannel.ForAddress(host.Address, new GrpcChannelOptions { MaxSendMessageSize = null }));
            switch (holding)
            {
                case Holding.Committed:
                    await host.CommitOnServerAsync(content);
                    break;
                case Holding.Partial:
                    // Piece 1 present, piece 0 absent.
                    var partial = host.ServerStore.OpenPartialOrFail(digest, content.Length);
                    fixture._owned.Add(partial);
                    var writer = partial.BeginPiece(1);
                    await writer.WriteAsync(PeerTestHost.PieceBytes(content, 1, PieceSize), default);
                    await writer.CompleteAsync(null, default);
                    fixture._owned.Add(host.Tasks.Register(partial));
                    break;
            }

            return fixture;
        }

        public Task<(Status Status, int Messages)> DownloadAsync(DownloadPieceRequest request) =>
            DrainAsync(() => Client.DownloadPiece(request, cancellationToken: Timeout()));

        public Task<(Status Status, int Messages)> SyncAsync(SyncPiecesRequest request) =>
            DrainAsync(() => Client.SyncPieces(request, cancellationToken: Timeout()));

        /// <summary>Sends <paramref name="body"/> as the request message bytes, through the gRPC client.</summary>
        public Task<(Status Status, int Messages)> CallRawAsync(string method, byte[] body)
        {
            var raw = Marshallers.Create(static (byte[] bytes) => bytes, static bytes => bytes);
            var descriptor = new Method<byte[], byte[]>(MethodType.ServerStreaming, "peeragent.v1.Peer", method, raw, raw);
            return DrainAsync(() => Channel.CreateCallInvoker().AsyncServerStreamingCall(descriptor, null, new CallOptions(cancellationToken: Timeout()), body));
        }

        /// <summary>POSTs <paramref name="body"/> as the whole HTTP/2 request body (gRPC framing included); the grpc-status, if any.</summary>
        public async Task<StatusCode?> PostAsync(string method, byte[] body, string? encoding = null)
        {
            using var handler = new SocketsHttpHandler();
            using var http = new HttpClient(handler);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Host.Address, $"/peeragent.v1.Peer/{method}"))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(body),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
            if (encoding is not null)
            {
                request.Headers.Add("grpc-encoding", encoding);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, Timeout());
            response.StatusCode.Should().Be(HttpStatusCode.OK, "gRPC reports errors in grpc-status, on a 200");
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.Single()
                : response.Headers.TryGetValues("grpc-status", out var header) ? header.Single() : null;
            return status is null ? null : (StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                _owned[i].Dispose();
            }

            await Host.DisposeAsync();
        }

        private static async Task<(Status Status, int Messages)> DrainAsync<T>(Func<AsyncServerStreamingCall<T>> open)
        {
            var messages = 0;
            try
            {
                using var call = open();
                while (await call.ResponseStream.MoveNext(Timeout()))
                {
                    messages++;
                }

                return (Status.DefaultSuccess, messages);
            }
            catch (RpcException ex)
            {
                return (ex.Status, messages);
            }
        }
    }
}
