namespace PeerAgent.Testing;

/// <summary>Reads the console log of the .NET processes under test (the agent and the scheduler).</summary>
public static class LogEntries
{
    /// <summary>
    /// Error and critical entries. The default console formatter writes "fail: Category[id]" or "crit: ..." followed by
    /// indented message lines; each entry is returned as one string with its message. JSON console output
    /// ("LogLevel":"Error") and unhandled exceptions are recognised too.
    /// </summary>
    public static IReadOnlyList<string> Errors(IReadOnlyList<string> logs)
    {
        var result = new List<string>();
        for (var i = 0; i < logs.Count; i++)
        {
            var line = logs[i];
            if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)
                || line.StartsWith("Unhandled exception", StringComparison.Ordinal))
            {
                var entry = line;
                while (i + 1 < logs.Count && logs[i + 1].Length > 0 && char.IsWhiteSpace(logs[i + 1][0]))
                {
                    entry += "\n" + logs[++i];
                }

                result.Add(entry);
            }
            else if (line.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal))
            {
                result.Add(line);
            }
        }

        return result;
    }

    /// <summary>Environment for a .NET child process: production settings, no colour codes (they would break the "fail:" match).</summary>
    public static Dictionary<string, string?> DotnetEnvironment() => new()
    {
        ["DOTNET_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
        ["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = null,
    };
}
