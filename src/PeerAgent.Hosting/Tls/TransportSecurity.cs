using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// How the peer and scheduler ports and the clients that dial them are secured: mutual TLS (the default) or, with
/// <c>Tls:AllowInsecure=true</c>, plaintext h2c. Listeners and channels get it from here and nowhere else.
/// </summary>
public sealed class TransportSecurity : IDisposable
{
    private TransportSecurity(CertificateSource? certificates) => Certificates = certificates;

    /// <summary>The reloading certificate files; null when insecure.</summary>
    public CertificateSource? Certificates { get; }

    public bool IsEnabled => Certificates is not null;

    /// <summary>The scheme peers and schedulers are dialled with: <c>https</c>, or <c>http</c> when insecure.</summary>
    public string Scheme => IsEnabled ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;

    /// <summary>Loads the files (validated already) and starts watching them, or warns that the ports are plaintext.</summary>
    public static TransportSecurity Create(TlsOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (!options.Enabled)
        {
            TlsLog.Insecure(logger);
            return new TransportSecurity(null);
        }

        var certificates = new CertificateSource(options, time, logger);
        TlsLog.Enabled(logger, TlsMaterial.Describe(certificates.Certificate), certificates.Authority.Count, options.CaFile);
        return new TransportSecurity(certificates);
    }

    /// <summary>Plaintext h2c without the start-up warning, for tests and benchmarks that compare against it.</summary>
    public static TransportSecurity Plaintext() => new(null);

    /// <summary>
    /// Makes <paramref name="listen"/> (an HTTP/2 listener) TLS with ALPN h2 and a required, CA-checked client
    /// certificate; a client without one is refused during the handshake, before any HTTP/2 frame. No-op when insecure.
    /// </summary>
    public void ConfigureListener(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        if (Certificates is not { } certificates)
        {
            return;
        }

        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ =>
            {
                var options = certificates.CreateServerOptions();
                options.ApplicationProtocols = [SslApplicationProtocol.Http2];
                return ValueTask.FromResult(options);
            },
        });
    }

    /// <summary>
    /// Makes <paramref name="handler"/> present this process's certificate and check the server's against the
    /// cluster CA; its HTTP/2 tuning is left as the caller set it. No-op when insecure.
    /// </summary>
    public void ConfigureClient(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Certificates is { } certificates)
        {
            handler.SslOptions = certificates.CreateClientOptions();
        }
    }

    public void Dispose() => Certificates?.Dispose();
}
