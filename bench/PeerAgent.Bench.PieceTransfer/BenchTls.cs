using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>
/// Mutual TLS exactly as the agent runs it: a CA and a certificate per side made by the product's
/// CertificateAuthority (ECDSA P-256), loaded through TlsOptions into the same TransportSecurity the agent uses.
/// </summary>
internal static class BenchTls
{
    public const string Server = "server";
    public const string Client = "client";

    /// <summary>Writes <paramref name="root"/>/server and <paramref name="root"/>/client, each with ca.crt, tls.crt, tls.key.</summary>
    public static void Create(string root)
    {
        var now = TimeProvider.System.GetUtcNow();
        using var ca = CertificateAuthority.Create("bench CA", now.AddMinutes(-5), now.AddDays(1));
        foreach (var side in new[] { Server, Client })
        {
            using var issued = ca.Issue(side, [IPAddress.Loopback], ["localhost"], now.AddMinutes(-5), now.AddDays(1));
            issued.WriteTo(Path.Combine(root, side), ca.CertificatePem, force: true);
        }
    }

    public static TransportSecurity Load(string root, string side)
    {
        var dir = Path.Combine(root, side);
        var options = new TlsOptions
        {
            CaFile = Path.Combine(dir, CertificateAuthority.CertificateFileName),
            CertFile = Path.Combine(dir, IssuedCertificate.CertificateFileName),
            KeyFile = Path.Combine(dir, IssuedCertificate.KeyFileName),
        };
        var errors = options.Validate(TimeProvider.System.GetUtcNow());
        return errors.Count == 0
            ? TransportSecurity.Create(options, TimeProvider.System, NullLogger.Instance)
            : throw new InvalidOperationException(string.Join(" ", errors));
    }
}
