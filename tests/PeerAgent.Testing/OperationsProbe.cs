using System.Net;

namespace PeerAgent.Testing;

/// <summary>
/// Talks to a PeerAgent process's operations listener (agent or scheduler): waits for <c>/readyz</c> and reads
/// <c>/metrics</c>.
/// </summary>
public static class OperationsProbe
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>Returns once <c>/readyz</c> answers 200; throws with the log tail if the process exits first.</summary>
    public static Task WaitUntilReadyAsync(TestProcess process, string metricsUrl, string what, TimeSpan timeout) =>
        Wait.UntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The {what} exited with {process.ExitCode} before it was ready:\n{process.Tail()}");
                }

                using var response = await Http.GetAsync(new Uri($"{metricsUrl}/readyz"));
                return response.StatusCode == HttpStatusCode.OK;
            },
            timeout,
            $"the {what} answers 200 on {metricsUrl}/readyz");

    public static async Task<PrometheusMetrics> GetMetricsAsync(string metricsUrl)
    {
        using var response = await Http.GetAsync(new Uri($"{metricsUrl}/metrics"));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET /metrics answered {(int)response.StatusCode}: {text}");
        }

        return PrometheusMetrics.Parse(text);
    }
}
