using System.Net;
using System.Net.Sockets;

namespace PeerAgent.Installer.Hooks;

/// <summary>
/// The post-delete hook's wait: resolves the headless Service over the hook DaemonSet's pods and asks each address for
/// <c>/uninstalled</c> until every node answered 200, so <c>helm uninstall</c> returns only once every node's runtime
/// configuration is back to what it was. Bounded by <see cref="CleanupWaitSettings.Timeout"/>.
/// </summary>
internal sealed class CleanupWait
{
    private const int MaxParallelProbes = 32;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly CleanupWaitSettings _settings;
    private readonly TextWriter _output;
    private readonly TimeProvider _time;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly Dictionary<IPAddress, string> _done = [];
    private readonly Dictionary<IPAddress, string> _lastError = [];

    public CleanupWait(
        CleanupWaitSettings settings,
        TextWriter output,
        TimeProvider? time = null,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        _settings = settings;
        _output = output;
        _time = time ?? TimeProvider.System;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
    }

    /// <summary>0 once every address answered and the set stayed the same for the settle time; 1 on timeout.</summary>
    public async Task<int> RunAsync(TextWriter error, CancellationToken cancellationToken = default)
    {
        using var handler = new SocketsHttpHandler
        {
            // Pod addresses are reached directly, whatever proxy the hook pod's environment names.
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = ProbeTimeout,
        };
        using var http = new HttpClient(handler) { Timeout = ProbeTimeout };

        var started = _time.GetTimestamp();
        IPAddress[] current = [];
        string? resolveError = null;
        string? completeSet = null;
        var completeSince = 0L;
        _output.WriteLine($"cleanup-wait: waiting up to {Durations.Format(_settings.Timeout)} for every address of {_settings.Service} to answer 200 on port {_settings.Port} {CleanupReport.Path}");
        while (true)
        {
            (current, resolveError) = await ResolveAsync(current, cancellationToken);
            await ProbeAsync(http, current, cancellationToken);

            if (current.Length > 0 && current.All(_done.ContainsKey))
            {
                var set = string.Join(',', current.Select(a => a.ToString()));
                if (set != completeSet)
                {
                    completeSet = set;
                    completeSince = _time.GetTimestamp();
                }

                if (_time.GetElapsedTime(completeSince) >= _settings.Settle)
                {
                    _output.WriteLine($"cleanup-wait: done, {Count(current.Length, "node", "nodes")} uninstalled: {string.Join(", ", current.Select(a => $"{a} ({_done[a]})"))}");
                    return ExitCodes.Success;
                }
            }
            else
            {
                completeSet = null;
            }

            var remaining = _settings.Timeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                ReportTimeout(error, current, resolveError);
                return ExitCodes.Failure;
            }

            await Task.Delay(remaining < _settings.Interval ? remaining : _settings.Interval, _time, cancellationToken);
        }
    }

    private async Task<(IPAddress[] Addresses, string? Error)> ResolveAsync(IPAddress[] previous, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        try
        {
            addresses = await _resolve(_settings.Service, cancellationToken);
        }
        catch (SocketException e)
        {
            // No pod has an address yet (NXDOMAIN for an empty headless Service), or DNS is briefly unreachable.
            return ([], e.Message);
        }

        var sorted = addresses.Distinct().OrderBy(a => a.AddressFamily).ThenBy(a => a.ToString(), StringComparer.Ordinal).ToArray();
        if (!sorted.SequenceEqual(previous))
        {
            _output.WriteLine($"cleanup-wait: {_settings.Service} resolves to {Count(sorted.Length, "address", "addresses")}: {string.Join(", ", sorted.Select(a => a.ToString()))}");
        }

        return (sorted, null);
    }

    private async Task ProbeAsync(HttpClient http, IPAddress[] addresses, CancellationToken cancellationToken)
    {
        var pending = addresses.Where(a => !_done.ContainsKey(a)).ToArray();
        var answers = new (IPAddress Address, string? Node, string? Error)[pending.Length];
        await Parallel.ForAsync(0, pending.Length, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelProbes, CancellationToken = cancellationToken },
            async (i, ct) => answers[i] = await AskAsync(http, pending[i], ct));

        foreach (var (address, node, error) in answers)
        {
            if (node is not null)
            {
                _done[address] = node;
                _lastError.Remove(address);
                _output.WriteLine($"cleanup-wait: {address} uninstalled ({node})");
            }
            else
            {
                _lastError[address] = error!;
            }
        }
    }

    private async Task<(IPAddress Address, string? Node, string? Error)> AskAsync(HttpClient http, IPAddress address, CancellationToken cancellationToken)
    {
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        try
        {
            using var response = await http.GetAsync(new Uri($"http://{host}:{_settings.Port}{CleanupReport.Path}"), cancellationToken);
            var body = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            if (response.StatusCode == HttpStatusCode.OK && body.StartsWith("uninstalled", StringComparison.Ordinal))
            {
                var node = body["uninstalled".Length..].Trim();
                return (address, node.Length > 0 ? node : "node name not reported", null);
            }

            return (address, null, $"HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UriFormatException
            || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (address, null, e.InnerException?.Message ?? e.Message);
        }
    }

    private static string Count(int count, string one, string many) => $"{count} {(count == 1 ? one : many)}";

    private void ReportTimeout(TextWriter error, IPAddress[] current, string? resolveError)
    {
        var timeout = Durations.Format(_settings.Timeout);
        if (current.Length == 0)
        {
            error.WriteLine($"cleanup-wait: timed out after {timeout}: {_settings.Service} resolved to no address{(resolveError is null ? string.Empty : $" ({resolveError})")}");
            return;
        }

        var missing = current.Where(a => !_done.ContainsKey(a)).ToArray();
        if (missing.Length == 0)
        {
            error.WriteLine($"cleanup-wait: timed out after {timeout}: every address answered, but the set of addresses kept changing");
            return;
        }

        error.WriteLine(
            $"cleanup-wait: timed out after {timeout}: {missing.Length} of {Count(current.Length, "address", "addresses")} never answered 200 on {CleanupReport.Path}: "
            + string.Join(", ", missing.Select(a => $"{a} ({_lastError.GetValueOrDefault(a, "not asked")})")));
    }
}
