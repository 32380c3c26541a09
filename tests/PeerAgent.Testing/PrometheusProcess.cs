using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PeerAgent.Testing;

/// <summary>
/// A real Prometheus (Debian's prometheus 2.42) scraping given targets every second, with its own storage in a
/// temp dir and its API on a free loopback port.
/// </summary>
public sealed class PrometheusProcess : IDisposable
{
    private readonly TempDir _dir;
    private readonly TestProcess _process;
    private readonly HttpClient _client;

    private PrometheusProcess(TempDir dir, TestProcess process, int port)
    {
        _dir = dir;
        _process = process;
        Url = $"http://127.0.0.1:{port}";
        _client = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Url { get; }

    public TestProcess Process => _process;

    /// <summary>Starts Prometheus with one job, <paramref name="job"/>, scraping <paramref name="target"/> (host:port) every second.</summary>
    public static Task<PrometheusProcess> StartAsync(string job, string target) =>
        StartAsync([new PrometheusJob(job, [target])]);

    /// <summary>Starts Prometheus scraping each job's targets (host:port) every second.</summary>
    public static async Task<PrometheusProcess> StartAsync(IReadOnlyList<PrometheusJob> jobs)
    {
        var dir = new TempDir("prometheus");
        var config = dir.File("prometheus.yml");
        var scrapeConfigs = new StringBuilder();
        foreach (var job in jobs)
        {
            scrapeConfigs.Append(CultureInfo.InvariantCulture, $"  - job_name: {job.Name}\n    static_configs:\n      - targets: [{string.Join(", ", job.Targets.Select(t => $"'{t}'"))}]\n");
        }

        await File.WriteAllTextAsync(config, """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:

            """ + scrapeConfigs);
        var port = FreePort.Get();
        var process = TestProcess.Start(
            "prometheus",
            [
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(dir.Path, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ],
            new TestProcessOptions { Name = "prometheus" });
        var prometheus = new PrometheusProcess(dir, process, port);
        try
        {
            await Wait.UntilAsync(
                async () =>
                {
                    if (process.HasExited)
                    {
                        throw new InvalidOperationException($"prometheus exited with {process.ExitCode}:\n{process.Tail()}");
                    }

                    using var ready = await prometheus._client.GetAsync("/-/ready");
                    return ready.IsSuccessStatusCode;
                },
                TimeSpan.FromSeconds(30),
                "prometheus answers /-/ready");
            return prometheus;
        }
        catch
        {
            prometheus.Dispose();
            throw;
        }
    }

    /// <summary>Runs an instant query; returns each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        using var response = await _client.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query '{promql}' failed with {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        var results = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var series in json.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var value = double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            results.Add((labels, value));
        }

        return results;
    }

    /// <summary>The value of a query that yields one series, or null when it yields none yet.</summary>
    public async Task<double?> ScalarAsync(string promql)
    {
        var results = await QueryAsync(promql);
        return results.Count == 1 ? results[0].Value : null;
    }

    public void Dispose()
    {
        _client.Dispose();
        _process.Dispose();
        _dir.Dispose();
    }
}
