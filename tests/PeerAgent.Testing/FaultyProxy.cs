using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace PeerAgent.Testing;

/// <summary>What <see cref="FaultyProxy"/> does to the traffic it forwards.</summary>
public enum FaultMode
{
    /// <summary>Forward unchanged.</summary>
    PassThrough,

    /// <summary>In 200/206 responses to GET /v2/*/blobs/*, flip one byte in the middle of the body; length unchanged.</summary>
    FlipByteInBlobBodies,

    /// <summary>Send blob response bodies at <see cref="FaultyProxy.ThrottleBytesPerSecond"/>.</summary>
    Throttle,

    /// <summary>Accept and read the request, never answer (until the client gives up or the proxy is disposed).</summary>
    Blackhole,

    /// <summary>Accept and reset the connection at once.</summary>
    Refuse,
}

/// <summary>One request forwarded (or refused) by <see cref="FaultyProxy"/>.</summary>
public sealed record ProxiedRequest(string Method, string Target, int Status, long BodyBytes, FaultMode Mode)
{
    public bool IsBlob => Target.Contains("/blobs/", StringComparison.Ordinal);
}

/// <summary>
/// A small HTTP/1.1 reverse proxy on 127.0.0.1 that injects faults into blob responses.
/// </summary>
/// <remarks>
/// It handles one request per connection and answers with <c>Connection: close</c> (and asks the upstream for the
/// same), so framing is trivial: the body is Content-Length bytes, or everything up to the upstream's close.
/// Heads pass through byte for byte apart from the Connection header, so HEAD, 401 with WWW-Authenticate,
/// Range requests with 206 and Content-Range behave as at the origin. Chunked bodies are forwarded raw and never altered.
/// </remarks>
public sealed class FaultyProxy : IAsyncDisposable, IDisposable
{
    private const int MaxHeadBytes = 64 * 1024;
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<ProxiedRequest> _requests = [];
    private readonly HashSet<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _mode;
    private long _throttleBytesPerSecond = 2_000_000;
    private long _blobBodyBytes;
    private int _activeConnections;

    private FaultyProxy(string upstream)
    {
        var colon = upstream.LastIndexOf(':');
        _upstreamHost = upstream[..colon];
        _upstreamPort = int.Parse(upstream[(colon + 1)..], CultureInfo.InvariantCulture);
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>"127.0.0.1:port".</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>"http://127.0.0.1:port", for the agent's Registries:N:Endpoint.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public FaultMode Mode
    {
        get => (FaultMode)Volatile.Read(ref _mode);
        set => Volatile.Write(ref _mode, (int)value);
    }

    /// <summary>Rate of blob bodies in <see cref="FaultMode.Throttle"/>; read for every chunk, so it can change mid-transfer.</summary>
    public long ThrottleBytesPerSecond
    {
        get => Interlocked.Read(ref _throttleBytesPerSecond);
        set => Interlocked.Exchange(ref _throttleBytesPerSecond, Math.Max(1, value));
    }

    /// <summary>Blob body bytes sent to clients so far.</summary>
    public long BlobBodyBytesForwarded => Interlocked.Read(ref _blobBodyBytes);

    public int ActiveConnections => Volatile.Read(ref _activeConnections);

    public IReadOnlyList<ProxiedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public int RequestCount => Requests.Count;

    /// <summary>Starts a proxy in front of <paramref name="upstream"/> ("127.0.0.1:PORT").</summary>
    public static FaultyProxy Start(string upstream, FaultMode mode = FaultMode.PassThrough) => new(upstream) { Mode = mode };

    public void SetThrottle(long bytesPerSecond)
    {
        ThrottleBytesPerSecond = bytesPerSecond;
        Mode = FaultMode.Throttle;
    }

    public void ResetCounters()
    {
        lock (_gate)
        {
            _requests.Clear();
        }

        Interlocked.Exchange(ref _blobBodyBytes, 0);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Dispose();
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _connections, _acceptLoop];
        }

        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var task = HandleAsync(client);
            lock (_gate)
            {
                _connections.Add(task);
            }

            _ = task.ContinueWith(
                t =>
                {
                    lock (_gate)
                    {
                        _connections.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        Interlocked.Increment(ref _activeConnections);
        var token = _stop.Token;
        var method = "?";
        var target = "?";
        var status = 0;
        var body = new StrongBox<long>();
        var mode = Mode;
        try
        {
            client.NoDelay = true;
            if (mode == FaultMode.Refuse)
            {
                Record(new ProxiedRequest("?", "?", 0, 0, mode));
                client.LingerState = new LingerOption(true, 0);
                return;
            }

            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            var clientReader = new HeadReader(clientStream);
            var requestHead = await clientReader.ReadHeadAsync(token);
            if (requestHead is null)
            {
                return;
            }

            var request = HttpHead.Parse(requestHead);
            method = request.StartLine[0];
            target = request.StartLine.Length > 1 ? request.StartLine[1] : "/";
            mode = Mode;
            if (mode == FaultMode.Blackhole)
            {
                // Hold the connection open without answering until the client leaves or the proxy stops.
                var sink = new byte[4096];
                while (await clientReader.ReadAsync(sink, token) > 0)
                {
                }

                return;
            }

            if (mode == FaultMode.Refuse)
            {
                client.LingerState = new LingerOption(true, 0);
                return;
            }

            using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, token);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);

            await upstreamStream.WriteAsync(request.Serialize(forceClose: true), token);
            var requestBody = request.ContentLength ?? 0;
            if (requestBody > 0)
            {
                await CopyExactlyAsync(clientReader, upstreamStream, requestBody, token);
            }

            var upstreamReader = new HeadReader(upstreamStream);
            var responseHead = await upstreamReader.ReadHeadAsync(token)
                ?? throw new IOException("The upstream closed without a response.");
            var response = HttpHead.Parse(responseHead);
            status = int.Parse(response.StartLine[1], CultureInfo.InvariantCulture);
            await clientStream.WriteAsync(response.Serialize(forceClose: true), token);

            var noBody = method == "HEAD" || status is 204 or 304 || status < 200;
            if (!noBody)
            {
                var length = response.IsChunked ? null : response.ContentLength;
                var isBlob = method == "GET" && status is 200 or 206 && length is not null
                    && target.Split('?', 2)[0].Contains("/blobs/", StringComparison.Ordinal);
                await ForwardBodyAsync(upstreamReader, clientStream, length, isBlob, mode, body, token);
            }

            await clientStream.FlushAsync(token);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or FormatException)
        {
            // The client or upstream went away (e.g. the agent was killed): just drop the connection.
        }
        finally
        {
            if (method != "?" || mode != FaultMode.Refuse)
            {
                Record(new ProxiedRequest(method, target, status, body.Value, mode));
            }

            client.Dispose();
            Interlocked.Decrement(ref _activeConnections);
        }
    }

    /// <summary>Forwards a response body; <paramref name="sentSoFar"/> stays accurate when the transfer breaks.</summary>
    private async Task ForwardBodyAsync(HeadReader from, NetworkStream to, long? length, bool isBlob, FaultMode startMode, StrongBox<long> sentSoFar, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        long sent = 0;
        var flipAt = isBlob && startMode == FaultMode.FlipByteInBlobBodies && length > 0 ? length.Value / 2 : -1;
        var clock = Stopwatch.StartNew();
        long paced = 0;
        var lastRate = 0L;
        while (length is null || sent < length)
        {
            var throttled = isBlob && Mode == FaultMode.Throttle;
            var want = buffer.Length;
            if (throttled)
            {
                var rate = ThrottleBytesPerSecond;
                if (rate != lastRate)
                {
                    // Restart pacing from here when the rate changes.
                    lastRate = rate;
                    paced = 0;
                    clock.Restart();
                }

                want = (int)Math.Clamp(rate / 20, 1, buffer.Length);
            }

            if (length is not null)
            {
                want = (int)Math.Min(want, length.Value - sent);
            }

            var read = await from.ReadAsync(buffer.AsMemory(0, want), token);
            if (read == 0)
            {
                break;
            }

            if (flipAt >= sent && flipAt < sent + read)
            {
                buffer[flipAt - sent] ^= 0x01;
            }

            await to.WriteAsync(buffer.AsMemory(0, read), token);
            sent += read;
            sentSoFar.Value = sent;
            if (isBlob)
            {
                Interlocked.Add(ref _blobBodyBytes, read);
            }

            if (throttled)
            {
                paced += read;
                var due = TimeSpan.FromSeconds((double)paced / lastRate) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, token);
                }
            }
            else
            {
                lastRate = 0;
            }
        }
    }

    private static async Task CopyExactlyAsync(HeadReader from, Stream to, long count, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        while (count > 0)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), token);
            if (read == 0)
            {
                throw new IOException("The client closed in the middle of the request body.");
            }

            await to.WriteAsync(buffer.AsMemory(0, read), token);
            count -= read;
        }
    }

    private void Record(ProxiedRequest request)
    {
        lock (_gate)
        {
            _requests.Add(request);
        }
    }

    /// <summary>Reads an HTTP head, keeping any body bytes read past it for later reads.</summary>
    private sealed class HeadReader(Stream stream)
    {
        private byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<string?> ReadHeadAsync(CancellationToken token)
        {
            while (true)
            {
                var at = _buffer.AsSpan(_start, _end - _start).IndexOf(HeadEnd);
                if (at >= 0)
                {
                    var head = Encoding.Latin1.GetString(_buffer, _start, at + HeadEnd.Length);
                    _start += at + HeadEnd.Length;
                    return head;
                }

                if (_end - _start >= MaxHeadBytes)
                {
                    throw new IOException("HTTP head too large.");
                }

                if (_end == _buffer.Length)
                {
                    if (_start > 0)
                    {
                        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                        _end -= _start;
                        _start = 0;
                    }
                    else
                    {
                        Array.Resize(ref _buffer, _buffer.Length * 2);
                    }
                }

                var read = await stream.ReadAsync(_buffer.AsMemory(_end), token);
                if (read == 0)
                {
                    return _end == _start ? null : throw new IOException("Connection closed inside an HTTP head.");
                }

                _end += read;
            }
        }

        public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken token)
        {
            if (_end > _start)
            {
                var count = Math.Min(destination.Length, _end - _start);
                _buffer.AsMemory(_start, count).CopyTo(destination);
                _start += count;
                return count;
            }

            return await stream.ReadAsync(destination, token);
        }
    }

    /// <summary>A parsed request or status line plus headers, re-serialised with Connection: close.</summary>
    private sealed class HttpHead
    {
        private HttpHead(string[] startLine, string startLineText, List<(string Name, string Value)> headers)
        {
            StartLine = startLine;
            StartLineText = startLineText;
            Headers = headers;
        }

        public string[] StartLine { get; }

        public string StartLineText { get; }

        public List<(string Name, string Value)> Headers { get; }

        public long? ContentLength =>
            Headers.FirstOrDefault(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) is { Name: not null } h
                ? long.Parse(h.Value, CultureInfo.InvariantCulture)
                : null;

        public bool IsChunked => Headers.Any(h =>
            h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase));

        public static HttpHead Parse(string head)
        {
            var lines = head.Split("\r\n");
            var start = lines[0];
            var parts = start.Split(' ', 3);
            if (parts.Length < 2)
            {
                throw new FormatException($"Bad HTTP start line: {start}");
            }

            var headers = new List<(string, string)>();
            for (var i = 1; i < lines.Length; i++)
            {
                if (lines[i].Length == 0)
                {
                    continue;
                }

                var colon = lines[i].IndexOf(':');
                if (colon <= 0)
                {
                    throw new FormatException($"Bad HTTP header: {lines[i]}");
                }

                headers.Add((lines[i][..colon], lines[i][(colon + 1)..].Trim()));
            }

            return new HttpHead(parts, start, headers);
        }

        public byte[] Serialize(bool forceClose)
        {
            var sb = new StringBuilder();
            sb.Append(StartLineText).Append("\r\n");
            foreach (var (name, value) in Headers)
            {
                if (forceClose && (name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                sb.Append(name).Append(": ").Append(value).Append("\r\n");
            }

            if (forceClose)
            {
                sb.Append("Connection: close\r\n");
            }

            sb.Append("\r\n");
            return Encoding.Latin1.GetBytes(sb.ToString());
        }
    }
}
