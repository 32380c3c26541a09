using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace PeerAgent.Testing;

/// <summary>One request seen in docker-registry's access log.</summary>
public sealed record AccessLogEntry(string Method, string Path, int Status, long Bytes, string UserAgent)
{
    /// <summary>The path without its query string.</summary>
    public string PathOnly => Path.Split('?', 2)[0];

    public bool IsBlob => PathOnly.Contains("/blobs/sha256:", StringComparison.Ordinal);

    public bool IsManifest => PathOnly.Contains("/manifests/", StringComparison.Ordinal);

    /// <summary>The digest after /blobs/, or null.</summary>
    public string? BlobDigest
    {
        get
        {
            var path = PathOnly;
            var at = path.IndexOf("/blobs/", StringComparison.Ordinal);
            return at < 0 ? null : path[(at + "/blobs/".Length)..];
        }
    }

    /// <summary>A GET of blob bytes that succeeded (200, or 206 for a range).</summary>
    public bool IsSuccessfulBlobGet => Method == "GET" && IsBlob && Status is 200 or 206;
}

/// <summary>Options for <see cref="RegistryProcess"/>.</summary>
public sealed class RegistryOptions
{
    /// <summary>When set, the registry requires HTTP Basic auth with this user (htpasswd, bcrypt).</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    public string Realm { get; init; } = "peeragent-test";
}

/// <summary>
/// A real docker-registry 2.8 (CNCF distribution) serving on 127.0.0.1 as the origin.
/// Its access log is parsed to count origin egress.
/// </summary>
/// <remarks>
/// Observed with 2.8.2+ds1 (Debian): the combined-format access log goes to STDOUT (the logrus app log,
/// including "response completed" lines, goes to stderr); both streams are parsed. A HEAD is logged with the
/// Content-Length as its byte count although no body is sent, so only GETs count as egress. The access log
/// line is written after the response, so it may appear a moment after the client has the bytes:
/// use <see cref="WaitForQuietAsync"/> before reading or resetting counters.
/// </remarks>
public sealed partial class RegistryProcess : IAsyncDisposable, IDisposable
{
    private readonly TempDir _dir;
    private readonly Lock _gate = new();
    private readonly List<AccessLogEntry> _entries = [];
    private long _lastLineMs;
    private TestProcess? _process;

    private RegistryProcess(TempDir dir, int port, RegistryOptions options)
    {
        _dir = dir;
        Port = port;
        Options = options;
    }

    public int Port { get; }

    /// <summary>"127.0.0.1:port": the registry host as clients name it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public RegistryOptions Options { get; }

    public bool RequiresAuth => Options.User is not null;

    public string StorageDirectory => Path.Combine(_dir.Path, "storage");

    public TestProcess Process => _process ?? throw new InvalidOperationException("Not started.");

    /// <summary>All access-log entries since start or the last reset.</summary>
    public IReadOnlyList<AccessLogEntry> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Sum of bytes of successful blob GETs since start or the last reset.</summary>
    public long BlobBytesServed => Requests.Where(e => e.IsSuccessfulBlobGet).Sum(e => e.Bytes);

    /// <summary>Number of successful blob GETs since start or the last reset.</summary>
    public int BlobGetCount => Requests.Count(e => e.IsSuccessfulBlobGet);

    /// <summary>Bytes of successful blob GETs per digest.</summary>
    public IReadOnlyDictionary<string, long> BlobBytesByDigest =>
        Requests.Where(e => e.IsSuccessfulBlobGet)
            .GroupBy(e => e.BlobDigest!)
            .ToDictionary(g => g.Key, g => g.Sum(e => e.Bytes));

    public static async Task<RegistryProcess> StartAsync(RegistryOptions? options = null)
    {
        options ??= new RegistryOptions();
        var dir = new TempDir("registry");
        try
        {
            var registry = new RegistryProcess(dir, FreePort.Get(), options);
            await registry.StartCoreAsync();
            return registry;
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Returns an HttpClient aimed at the registry, with Basic credentials when it requires auth.</summary>
    public HttpClient CreateClient(bool withCredentials = true)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = BaseUri,
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (withCredentials && RequiresAuth)
        {
            client.DefaultRequestHeaders.Authorization = BasicAuth(Options.User!, Options.Password!);
        }

        return client;
    }

    public static AuthenticationHeaderValue BasicAuth(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Waits until no access-log line has arrived for <paramref name="quiet"/> (default 300 ms).</summary>
    /// <remarks>
    /// The quiet period counts from the later of the last line and this call: the registry logs a request when it ends,
    /// so a transfer that the client has just finished may log its line only now, long after the previous line.
    /// </remarks>
    public Task WaitForQuietAsync(TimeSpan? quiet = null, TimeSpan? timeout = null)
    {
        var period = quiet ?? TimeSpan.FromMilliseconds(300);
        var since = Environment.TickCount64;
        return Wait.UntilAsync(
            () => Environment.TickCount64 - Math.Max(Interlocked.Read(ref _lastLineMs), since) >= period.TotalMilliseconds,
            timeout ?? TimeSpan.FromSeconds(30),
            $"the registry log on {Endpoint} is quiet for {period.TotalMilliseconds} ms");
    }

    /// <summary>Waits until the access log shows at least <paramref name="bytes"/> of <paramref name="digest"/> served by successful GETs.</summary>
    public Task WaitForBlobBytesAsync(string digest, long bytes, TimeSpan? timeout = null) =>
        Wait.UntilAsync(
            () => BlobBytesByDigest.TryGetValue(digest, out var served) && served >= bytes,
            timeout ?? TimeSpan.FromSeconds(30),
            $"the registry on {Endpoint} logged {bytes} bytes of {digest} sent");

    /// <summary>Waits for the log to settle, then forgets all entries so later counts start from zero.</summary>
    public async Task ResetAsync()
    {
        await WaitForQuietAsync();
        lock (_gate)
        {
            _entries.Clear();
        }
    }

    /// <summary>Waits for the log to settle and returns the entries.</summary>
    public async Task<IReadOnlyList<AccessLogEntry>> SnapshotAsync()
    {
        await WaitForQuietAsync();
        return Requests;
    }

    public string DescribeRequests() =>
        string.Join('\n', Requests.Select(e => $"{e.Method} {e.Path} -> {e.Status} {e.Bytes}B ({e.UserAgent})"));

    public void Dispose()
    {
        _process?.Dispose();
        _dir.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task StartCoreAsync()
    {
        var storage = Directory.CreateDirectory(StorageDirectory).FullName;
        var config = new StringBuilder();
        config.Append(CultureInfo.InvariantCulture, $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:{Port}

            """);
        if (Options.User is not null)
        {
            var htpasswd = await ProcessRunner.RunAsync("htpasswd", ["-Bbn", Options.User, Options.Password ?? string.Empty], TimeSpan.FromSeconds(30));
            var file = _dir.File("htpasswd");
            await File.WriteAllTextAsync(file, htpasswd.Output.Trim() + "\n");
            config.Append(CultureInfo.InvariantCulture, $"""
                auth:
                  htpasswd:
                    realm: {Options.Realm}
                    path: {file}

                """);
        }

        var configPath = _dir.File("config.yml");
        await File.WriteAllTextAsync(configPath, config.ToString());
        Interlocked.Exchange(ref _lastLineMs, Environment.TickCount64);
        _process = TestProcess.Start("docker-registry", ["serve", configPath], new TestProcessOptions { Name = "docker-registry", OnLine = OnLine });

        using var client = CreateClient(withCredentials: false);
        await Wait.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode}:\n{_process.Output}");
                }

                using var response = await client.GetAsync("v2/");
                return response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized;
            },
            TimeSpan.FromSeconds(30),
            $"docker-registry answers on {Endpoint}/v2/");
        await ResetAsync();
    }

    private void OnLine(string line, bool isError)
    {
        Interlocked.Exchange(ref _lastLineMs, Environment.TickCount64);
        var match = AccessLogLine().Match(line);
        if (!match.Success)
        {
            return;
        }

        var bytes = match.Groups["bytes"].Value == "-" ? 0 : long.Parse(match.Groups["bytes"].Value, CultureInfo.InvariantCulture);
        var entry = new AccessLogEntry(
            match.Groups["method"].Value,
            match.Groups["path"].Value,
            int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
            bytes,
            match.Groups["ua"].Value);
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }

    // 127.0.0.1 - - [23/Nov/2026:05:53:17 +0000] "GET /v2/test/img/blobs/sha256:...?ns=127.0.0.1%3A15000 HTTP/1.1" 200 1049750 "" "containerd/1.6.20~ds1"
    [GeneratedRegex("""^\S+ \S+ \S+ \[[^\]]*\] "(?<method>[A-Z]+) (?<path>\S+) HTTP/[0-9.]+" (?<status>\d{3}) (?<bytes>\d+|-)(?: "[^"]*" "(?<ua>[^"]*)")?""")]
    private static partial Regex AccessLogLine();
}
