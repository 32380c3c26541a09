using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Protocol.V1;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Security;

/// <summary>
/// A blob of a private (htpasswd) image held by an agent: its peer port hands pieces only to holders of a cluster
/// certificate. Without one (or with another CA's) SyncPieces and DownloadPiece never run; with one they do, for any
/// digest, which is why mTLS, not the mirror's upstream check, is what guards the peer port (docs/security.md).
/// </summary>
public sealed class PeerPortPrivateBlobTests(AuthOriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<AuthOriginFixture>
{
    private const string Uploads = "peeragent_peer_uploaded_bytes_total";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task PeerPort_PrivateBlob_OnlyClusterCertificatesGetPieces()
    {
        var holder = await StartAgentAsync(new AgentOptions
        {
            DefaultRegistry = Origin.Endpoint,
            Registries = [new AgentRegistry(Origin.Endpoint, PlainHttp: true, Public: false)],
            NodeName = "node-1",
        }, "node-1 agent");
        using var mirror = holder.CreateMirrorClient();
        var blob = Image.LargestLayer;
        var pulled = await MirrorHttp.GetBlobAsync(mirror, Image, blob, RegistryProcess.BasicAuth(AuthOriginFixture.User, fixture.Password));
        pulled.CompletedSuccessfully.Should().BeTrue("node-1 pulls the private blob with valid credentials: {0}", pulled);
        await Wait.UntilAsync(() => File.Exists(holder.CommittedBlobPath(blob.Digest)), TimeSpan.FromSeconds(30), "node-1 holds the blob");
        var request = new DownloadPieceRequest { TaskDigest = blob.Digest, PieceIndex = 0 };

        var otherCa = Own(TestCertificates.Create("another CA"));
        using var stranger = otherCa.IssueCertificate("stranger");
        foreach (var (who, certificate) in new (string, X509Certificate2?)[] { ("no certificate", null), ("another CA's certificate", stranger.Certificate) })
        {
            using var channel = Channel(holder, certificate);
            var client = new Peer.PeerClient(channel);

            var sync = await CallAsync(() => FirstAsync(client.SyncPieces(new SyncPiecesRequest { TaskDigest = blob.Digest }, deadline: Deadline())));
            var download = await CallAsync(() => FirstAsync(client.DownloadPiece(request, deadline: Deadline())));

            Output.WriteLine($"{who}: SyncPieces {sync}, DownloadPiece {download}");
            // TLS 1.3: the client's side of the handshake completes before the server checks its certificate, so the
            // refusal surfaces while the call is sent (Internal) or while its answer is read (Unavailable).
            sync.Should().BeOneOf([StatusCode.Unavailable, StatusCode.Internal], "SyncPieces with {0} is refused at the TLS handshake", who);
            download.Should().BeOneOf([StatusCode.Unavailable, StatusCode.Internal], "DownloadPiece with {0} is refused at the TLS handshake", who);
        }

        (await holder.GetMetricsAsync()).Sum(Uploads).Should().Be(0, "no piece byte left node-1 for a client outside the cluster");

        using var member = TestCertificates.Shared.IssueCertificate("another node");
        using var memberChannel = Channel(holder, member.Certificate);
        var memberClient = new Peer.PeerClient(memberChannel);
        using var listing = memberClient.SyncPieces(new SyncPiecesRequest { TaskDigest = blob.Digest }, deadline: Deadline());
        (await listing.ResponseStream.MoveNext()).Should().BeTrue();
        var pieces = listing.ResponseStream.Current;
        using var piece = memberClient.DownloadPiece(request, deadline: Deadline());
        var bytes = new MemoryStream();
        PieceHeader? header = null;
        while (await piece.ResponseStream.MoveNext())
        {
            header ??= piece.ResponseStream.Current.Header;
            piece.ResponseStream.Current.Data.WriteTo(bytes);
        }

        pieces.Pieces.Should().NotBeEmpty("a cluster member sees which pieces node-1 holds");
        header.Should().NotBeNull();
        bytes.Length.Should().Be(header!.PieceLength);
        SHA256.HashData(bytes.ToArray()).Should().Equal(header.PieceSha256.ToByteArray(), "a cluster member gets the piece's real bytes");
        (await holder.GetMetricsAsync()).Sum(Uploads).Should().Be(header.PieceLength);
        holder.ShouldHaveNoErrors();
    }

    private static DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + CallTimeout;

    private static GrpcChannel Channel(AgentProcess agent, X509Certificate2? certificate) =>
        GrpcChannel.ForAddress(agent.PeerUrl, new GrpcChannelOptions
        {
            HttpHandler = TestCertificates.Shared.CreateHandler(certificate),
            MaxReceiveMessageSize = 8 << 20,
        });

    private static async Task<bool> FirstAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            return await call.ResponseStream.MoveNext(CancellationToken.None);
        }
    }

    /// <summary>The status a call ended with; OK when it produced a message, or ended cleanly without one.</summary>
    private static async Task<StatusCode> CallAsync(Func<Task<bool>> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
