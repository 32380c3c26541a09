using System.Diagnostics;

namespace PeerAgent.Testing;

/// <summary>Polls a condition with a deadline instead of sleeping a fixed time.</summary>
public static class Wait
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls until <paramref name="condition"/> is true; throws <see cref="TimeoutException"/> naming <paramref name="because"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var watch = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }

                last = null;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                last = ex;
            }

            if (watch.Elapsed >= timeout)
            {
                throw new TimeoutException(
                    $"Timed out after {timeout.TotalSeconds:F1}s waiting until {because}." + (last is null ? string.Empty : $" Last error: {last.Message}"),
                    last);
            }

            await Task.Delay(PollInterval);
        }
    }

    /// <summary>
    /// Connection errors and HTTP timeouts count as "not yet"; any other exception from the condition ends the
    /// wait at once (e.g. "the process exited"), so a dead process fails fast instead of at the deadline.
    /// </summary>
    public static bool IsTransient(Exception ex) =>
        ex is HttpRequestException or IOException or System.Net.Sockets.SocketException or TaskCanceledException;

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string because) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, because);
}
