using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// This process's certificate and the cluster CA, read again every <see cref="TlsOptions.ReloadInterval"/> so a
/// cert-manager renewal or a Secret update takes effect without a restart: each new handshake, as server or as client,
/// uses the files as last loaded; connections already open keep the certificate they were made with. Files that
/// changed but do not load (half written, key not yet matching) leave the previous certificate in use.
/// </summary>
public sealed class CertificateSource : IDisposable
{
    /// <summary>TLS 1.3 is what our two ends negotiate; 1.2 stays for other clients (probes, grpcurl).</summary>
    private const SslProtocols Protocols = SslProtocols.Tls13 | SslProtocols.Tls12;

    private readonly TlsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _reloading = new();
    private readonly RemoteCertificateValidationCallback _verifyClient;
    private readonly RemoteCertificateValidationCallback _verifyServer;
    private readonly LocalCertificateSelectionCallback _selectClientCertificate;
    private readonly ITimer _timer;
    private TlsMaterial _current;
    private string? _lastFailure;

    /// <exception cref="InvalidOperationException">The files do not load (validate with <see cref="TlsOptions.Validate"/> first).</exception>
    public CertificateSource(TlsOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _time = time;
        _logger = logger;
        var errors = new List<string>();
        _current = TlsMaterial.TryLoad(options, time.GetUtcNow(), errors)
            ?? throw new InvalidOperationException("The TLS files do not load: " + string.Join(" ", errors));
        ObserveExpiry(_current.Certificate);
        _verifyClient = (_, certificate, chain, _) => Accept(certificate, chain, PeerCertificateVerifier.ClientAuthentication, "inbound");
        _verifyServer = (_, certificate, chain, _) => Accept(certificate, chain, PeerCertificateVerifier.ServerAuthentication, "outbound");
        _selectClientCertificate = (_, _, _, _, _) => Current.Certificate;
        _timer = time.CreateTimer(static state => ((CertificateSource)state!).ReloadQuietly(), this, options.ReloadInterval, options.ReloadInterval);
    }

    /// <summary>The certificate new handshakes present.</summary>
    public X509Certificate2 Certificate => Current.Certificate;

    /// <summary>The CA certificates peers must chain to.</summary>
    public X509Certificate2Collection Authority => Current.Authority;

    internal TlsMaterial Current => Volatile.Read(ref _current);

    /// <summary>
    /// Options for one server handshake: the current certificate, a client certificate required and checked against
    /// the CA. Call per connection (Kestrel's TLS callback does), so a reload reaches the next handshake.
    /// </summary>
    public SslServerAuthenticationOptions CreateServerOptions() => new()
    {
        ServerCertificateContext = Current.Context,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = _verifyClient,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EnabledSslProtocols = Protocols,
    };

    /// <summary>
    /// Options for clients (SocketsHttpHandler copies them per connection pool, so both callbacks read the current
    /// files at each handshake): present the current certificate, check the server's against the CA.
    /// </summary>
    public SslClientAuthenticationOptions CreateClientOptions() => new()
    {
        LocalCertificateSelectionCallback = _selectClientCertificate,
        RemoteCertificateValidationCallback = _verifyServer,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EnabledSslProtocols = Protocols,
    };

    /// <summary>Reads the files now; true when they changed and the new certificate is in use.</summary>
    public bool Reload()
    {
        lock (_reloading)
        {
            var errors = new List<string>();
            var current = Current;
            var files = TlsFiles.Read(_options, errors);
            string failure;
            if (files is not null)
            {
                if (files.Fingerprint.AsSpan().SequenceEqual(current.Fingerprint))
                {
                    _lastFailure = null;
                    return false;
                }

                // Tried again on every tick even when unchanged: a certificate issued a moment ahead of this node's
                // clock becomes valid without another change.
                var loaded = TlsMaterial.TryLoad(_options, files, _time.GetUtcNow(), errors);
                if (loaded is not null)
                {
                    Volatile.Write(ref _current, loaded);
                    _lastFailure = null;
                    TlsMetrics.ReloadsLoaded.Inc();
                    ObserveExpiry(loaded.Certificate);
                    TlsLog.Reloaded(_logger, TlsMaterial.Describe(loaded.Certificate));

                    // The previous material is not disposed: handshakes that started with it may still be using it.
                    return true;
                }

                failure = Convert.ToHexString(files.Fingerprint);
            }
            else
            {
                failure = string.Join("\n", errors);
            }

            if (failure != _lastFailure)
            {
                // Once per broken state, not once per tick.
                _lastFailure = failure;
                TlsMetrics.ReloadsFailed.Inc();
                TlsLog.ReloadFailed(_logger, string.Join(" ", errors), TlsMaterial.Describe(current.Certificate), _options.ReloadInterval);
            }

            return false;
        }
    }

    public void Dispose() => _timer.Dispose();

    private static void ObserveExpiry(X509Certificate2 certificate) =>
        TlsMetrics.CertificateExpiry.Set(new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());

    private void ReloadQuietly()
    {
        try
        {
            Reload();
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            TlsLog.ReloadFailed(_logger, ex.Message, TlsMaterial.Describe(Current.Certificate), _options.ReloadInterval);
        }
    }

    private bool Accept(X509Certificate? certificate, X509Chain? chain, Oid usage, string direction)
    {
        var presented = certificate as X509Certificate2;
        using var converted = presented is null && certificate is not null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        var refusal = PeerCertificateVerifier.Verify(
            presented ?? converted, chain?.ChainPolicy.ExtraStore, Current.Authority, usage, _time.GetUtcNow(), out var detail);
        if (refusal == TlsRefusal.None)
        {
            return true;
        }

        var reason = TlsMetrics.Label(refusal);
        TlsMetrics.HandshakesRefused.WithLabels(direction, reason).Inc();
        TlsLog.Refused(_logger, direction, reason, detail);
        return false;
    }
}
