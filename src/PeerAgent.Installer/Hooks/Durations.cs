using System.Globalization;
using System.Text.RegularExpressions;

namespace PeerAgent.Installer.Hooks;

/// <summary>Durations on the command line as Kubernetes and Helm write them: <c>10m</c>, <c>2s</c>, <c>1m30s</c>, <c>500ms</c>.</summary>
internal static partial class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var parts = match.Groups["part"].Captures;
        var units = match.Groups["unit"].Captures;
        var total = 0.0;
        for (var i = 0; i < parts.Count; i++)
        {
            var value = double.Parse(parts[i].Value.AsSpan(0, parts[i].Value.Length - units[i].Value.Length), CultureInfo.InvariantCulture);
            total += value * units[i].Value switch
            {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                _ => 3_600_000,
            };
        }

        if (total > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>10m, 1m30s, 2.5s, 500ms.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromSeconds(1))
        {
            return $"{duration.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)}ms";
        }

        var minutes = (int)duration.TotalMinutes;
        var seconds = (duration - TimeSpan.FromMinutes(minutes)).TotalSeconds;
        var secondsText = seconds.ToString("0.###", CultureInfo.InvariantCulture);
        return minutes == 0 ? $"{secondsText}s" : seconds == 0 ? $"{minutes}m" : $"{minutes}m{secondsText}s";
    }

    [GeneratedRegex(@"^(?<part>\d+(?:\.\d+)?(?<unit>ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
