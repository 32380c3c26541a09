using System.Net.Security;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Tls;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>The downloading side's pieces shared by the console benchmark and the micro-benchmarks: clients and one piece fetched over gRPC.</summary>
internal static class PieceFetch
{
    /// <summary>The agent's PeerClient, with the stream window under test and, for TLS, the agent's client certificate.</summary>
    public static PeerClient CreateGrpcClient(Uri address, TransportSecurity? security, int windowBytes) =>
        new(address, handler =>
        {
            handler.InitialHttp2StreamWindowSize = windowBytes;
            security?.ConfigureClient(handler);
        });

    /// <summary>Client options for the raw TLS baseline: the same client certificate and CA check as gRPC (mutual TLS).</summary>
    public static SslClientAuthenticationOptions RawTlsOptions(TransportSecurity security)
    {
        var options = security.Certificates!.CreateClientOptions();
        options.TargetHost = "localhost";
        return options;
    }

    /// <summary>
    /// Fetches piece <paramref name="index"/> with the downloader's own decoder (each chunk's bytes land in a pooled
    /// buffer, as they do before a store write) and drops the bytes. Returns how many arrived.
    /// </summary>
    public static async Task<long> GrpcToNullAsync(PeerClient client, Digest digest, int index, CancellationToken cancellationToken)
    {
        using var call = client.OpenPiece(new DownloadPieceRequest { TaskDigest = digest.ToString(), PieceIndex = index }, cancellationToken);
        long got = 0;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            using var chunk = call.ResponseStream.Current;
            got += chunk.Length;
        }

        return got;
    }
}
