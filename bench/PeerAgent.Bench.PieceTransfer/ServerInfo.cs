using System.Net;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>Where the serving side listens (all on 127.0.0.1) and what it serves; the driver reads it as JSON from the READY line.</summary>
internal sealed record ServerInfo(int H2c, int Tls, int Raw, int RawTls, string Digest, long Length, bool ServerGc)
{
    /// <summary>The peer gRPC service: h2c, or mutual TLS (the certificates name localhost).</summary>
    public Uri GrpcAddress(bool tls) => tls ? new Uri($"https://localhost:{Tls}") : new Uri($"http://127.0.0.1:{H2c}");

    /// <summary>The raw-socket baseline: plain TCP, or TLS with the same certificates.</summary>
    public IPEndPoint RawEndPoint(bool tls) => new(IPAddress.Loopback, tls ? RawTls : Raw);
}
