using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace PeerAgent.Testing;

/// <summary>
/// One raw HTTP/2 connection to a gRPC port, TLS (ALPN h2, an optional client certificate) or prior-knowledge h2c:
/// tells whether the server speaks HTTP/2 to this client at all, and keeps the connection for PINGs. It does not
/// check the server's certificate (tests of the server's checks look at <see cref="ServerCertificate"/> themselves).
/// </summary>
public sealed class Http2Probe : IAsyncDisposable
{
    private static readonly byte[] Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    private const byte SettingsFrame = 0x4;
    private const byte PingFrame = 0x6;
    private const byte AckFlag = 0x1;

    private readonly TcpClient _tcp;
    private readonly Stream _stream;

    private Http2Probe(TcpClient tcp, Stream stream, X509Certificate2? serverCertificate)
    {
        _tcp = tcp;
        _stream = stream;
        ServerCertificate = serverCertificate;
    }

    /// <summary>The certificate the server presented (TLS only).</summary>
    public X509Certificate2? ServerCertificate { get; }

    /// <summary>
    /// Whether 127.0.0.1:<paramref name="port"/> answers a client presenting <paramref name="client"/> (null: none)
    /// with HTTP/2 over TLS; <c>Refused</c> says why not (the handshake failed, or the connection closed before any frame).
    /// </summary>
    public static async Task<(bool Answered, string Outcome, X509Certificate2? ServerCertificate)> TryTlsAsync(int port, X509Certificate2? client, TimeSpan timeout)
    {
        try
        {
            await using var probe = await ConnectTlsAsync(port, client, timeout);
            var answered = await probe.ReadsServerSettingsAsync(timeout);
            return (answered.Answered, answered.Outcome, probe.ServerCertificate);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or OperationCanceledException)
        {
            return (false, $"refused during the handshake: {ex.GetType().Name}: {ex.Message}", null);
        }
    }

    /// <summary>Whether 127.0.0.1:<paramref name="port"/> answers prior-knowledge h2c (plaintext HTTP/2).</summary>
    public static async Task<(bool Answered, string Outcome)> TryPlaintextAsync(int port, TimeSpan timeout)
    {
        try
        {
            var tcp = new TcpClient();
            using var cts = new CancellationTokenSource(timeout);
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
            await using var probe = new Http2Probe(tcp, tcp.GetStream(), null);
            return await probe.ReadsServerSettingsAsync(timeout);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            return (false, $"refused: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>A TLS connection (ALPN h2) presenting <paramref name="client"/>; throws when the handshake fails on our side.</summary>
    public static async Task<Http2Probe> ConnectTlsAsync(int port, X509Certificate2? client, TimeSpan timeout)
    {
        var tcp = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
            X509Certificate2? server = null;
            var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    server = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return true;
                },
            };
            if (client is not null)
            {
                options.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
            }

            await ssl.AuthenticateAsClientAsync(options, cts.Token);
            return new Http2Probe(tcp, ssl, server);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Sends the client preface and SETTINGS; answered when the server's first frame is its SETTINGS.</summary>
    public async Task<(bool Answered, string Outcome)> ReadsServerSettingsAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _stream.WriteAsync(Preface, cts.Token);
            await _stream.WriteAsync(Frame(SettingsFrame, 0, []), cts.Token);
            await _stream.FlushAsync(cts.Token);
            var frame = await ReadFrameAsync(cts.Token);
            if (frame is null)
            {
                return (false, "refused: the server closed the connection before any HTTP/2 frame");
            }

            if (frame.Value.Type != SettingsFrame)
            {
                return (false, $"refused: the first frame is of type {frame.Value.Type}, not SETTINGS");
            }

            await _stream.WriteAsync(Frame(SettingsFrame, AckFlag, []), cts.Token);
            return (true, "HTTP/2 SETTINGS received");
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
        {
            // TLS 1.3: the client finishes its side before the server checks the client certificate, so the
            // server's refusal (an alert, or a reset) surfaces on the first read.
            return (false, $"refused: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>An HTTP/2 PING on this connection; true when its ACK comes back (the connection still works).</summary>
    public async Task<bool> PingAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var payload = BitConverter.GetBytes(Environment.TickCount64);
        await _stream.WriteAsync(Frame(PingFrame, 0, payload), cts.Token);
        await _stream.FlushAsync(cts.Token);
        for (var i = 0; i < 100; i++)
        {
            var frame = await ReadFrameAsync(cts.Token);
            if (frame is null)
            {
                return false;
            }

            if (frame.Value.Type == PingFrame && (frame.Value.Flags & AckFlag) != 0 && frame.Value.Payload.AsSpan().SequenceEqual(payload))
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    private static byte[] Frame(byte type, byte flags, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        payload.CopyTo(frame, 9);
        return frame;
    }

    private async Task<(byte Type, byte Flags, byte[] Payload)?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[9];
        if (!await ReadExactlyOrEndAsync(header, cancellationToken))
        {
            return null;
        }

        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var streamId = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF;
        if (length > 1 << 20 || (streamId != 0 && header[3] is SettingsFrame or PingFrame))
        {
            throw new IOException($"not an HTTP/2 frame header: {Convert.ToHexString(header)}");
        }

        var payload = new byte[length];
        return await ReadExactlyOrEndAsync(payload, cancellationToken) ? (header[3], header[4], payload) : null;
    }

    private async Task<bool> ReadExactlyOrEndAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
