using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PeerAgent.Installer.Hooks;

/// <summary>
/// The node's answer to <see cref="CleanupWait"/>: a tiny HTTP/1.1 responder, 200 on <c>GET /uninstalled</c> and 404
/// otherwise, one request per connection. It runs only after <c>uninstall</c> succeeded (the hook pod's main container
/// after its init container), so its being up is the report.
/// </summary>
internal sealed class CleanupReport : IDisposable
{
    public const string Path = "/uninstalled";

    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener;
    private readonly byte[] _ok;

    private CleanupReport(TcpListener listener, string node)
    {
        _listener = listener;
        _ok = Response("200 OK", $"uninstalled {node}\n");
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Listens on <paramref name="address"/>, or on every IPv4 and IPv6 address when it is null.</summary>
    public static CleanupReport Listen(IPAddress? address, int port, string node)
    {
        TcpListener? listener = null;
        try
        {
            listener = address is null ? ListenAnywhere(port) : Start(new TcpListener(address, port));
            return new CleanupReport(listener, node);
        }
        catch (SocketException e)
        {
            listener?.Dispose();
            throw new InstallerException($"cannot listen on {(address is null ? "*" : address.ToString())} port {port}: {e.Message}");
        }
    }

    /// <summary>Answers requests until <paramref name="stopping"/> is cancelled, then waits for the ones in flight.</summary>
    public async Task ServeAsync(CancellationToken stopping)
    {
        var inFlight = new List<Task>();
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue; // a client that gave up before its connection was accepted
            }

            inFlight.RemoveAll(t => t.IsCompleted);
            inFlight.Add(AnswerAsync(socket, stopping));
        }

        _listener.Stop();
        await Task.WhenAll(inFlight);
    }

    public void Dispose() => _listener.Dispose();

    private static TcpListener ListenAnywhere(int port)
    {
        try
        {
            var dual = new TcpListener(IPAddress.IPv6Any, port);
            dual.Server.DualMode = true;
            return Start(dual);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            // A node or pod without IPv6.
            return Start(new TcpListener(IPAddress.Any, port));
        }
    }

    private static TcpListener Start(TcpListener listener)
    {
        try
        {
            listener.Start();
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private async Task AnswerAsync(Socket socket, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var buffer = new byte[MaxRequestBytes];
            var length = 0;
            int headerEnd;
            while ((headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (length == buffer.Length)
                {
                    await stream.WriteAsync(Response("431 Request Header Fields Too Large", "request too large\n"), timeout.Token);
                    return;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token);
                if (read == 0)
                {
                    return;
                }

                length += read;
            }

            var requestLine = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, headerEnd + 2).IndexOf("\r\n"u8));
            await stream.WriteAsync(Answer(requestLine), timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The client went away or was too slow; there is nobody to answer.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private byte[] Answer(string requestLine)
    {
        var parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return Response("400 Bad Request", "bad request\n");
        }

        var target = parts[1];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target : target[..query];
        return parts[0] == "GET" && path == Path ? _ok : Response("404 Not Found", "not found\n");
    }

    private static byte[] Response(string status, string body) =>
        Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");
}
