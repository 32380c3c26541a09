using System.Globalization;
using System.Reflection;
using System.Text;

namespace PeerAgent.Hosting.Configuration;

/// <summary>What <c>--help</c> and <c>--version</c> print for one process.</summary>
public sealed class Usage
{
    /// <summary>The command, e.g. <c>PeerAgent.Agent</c> (the image runs <c>dotnet PeerAgent.Agent.dll</c>).</summary>
    public required string Command { get; init; }

    /// <summary>What the process is, in a sentence or two.</summary>
    public required string Summary { get; init; }

    /// <summary>The assembly's informational version, see <see cref="VersionOf"/>.</summary>
    public required string Version { get; init; }

    /// <summary>A typical key and value, shown as an environment variable and as an argument, e.g. <c>Store:DataDir=/var/lib/peeragent</c>.</summary>
    public required string Example { get; init; }

    /// <summary>The main keys; every key is in docs/configuration.md.</summary>
    public IReadOnlyList<UsageKey> Keys { get; init; } = [];

    /// <summary>The informational version (with the source revision when built from git), else the assembly version.</summary>
    public static string VersionOf(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
    }

    /// <summary>A default as it is written in configuration: time spans as hh:mm:ss, booleans in lower case.</summary>
    public static string Format(object? value) => value switch
    {
        null or "" => "(empty)",
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public string Render()
    {
        var separator = Example.IndexOf('=', StringComparison.Ordinal);
        var exampleKey = separator < 0 ? Example : Example[..separator];
        var exampleValue = separator < 0 ? "" : Example[separator..];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Command} {Version}\n");
        text.Append(Summary).Append("\n\n");
        text.Append("Usage:\n");
        text.Append(CultureInfo.InvariantCulture, $"  {Command} [--Section:Key=value | --Section:Key value]...\n");
        text.Append(CultureInfo.InvariantCulture, $"  {Command} --help | -h      print this and exit\n");
        text.Append(CultureInfo.InvariantCulture, $"  {Command} --version       print the version and exit\n\n");
        text.Append("Configuration, later sources winning:\n");
        text.Append("  1. appsettings.json beside the binary\n");
        text.Append(CultureInfo.InvariantCulture, $"  2. environment variables  {ConfigurationSources.EnvironmentPrefix}{exampleKey.Replace(":", "__", StringComparison.Ordinal)}{exampleValue}\n");
        text.Append(CultureInfo.InvariantCulture, $"  3. the command line       --{Example}\n");
        text.Append("Every key under a known section is checked before anything listens: an unknown key or a bad value\n");
        text.Append(CultureInfo.InvariantCulture, $"is reported, naming the key, and the process exits with status {ConfigurationValidation.ExitCode}.\n\n");
        text.Append("Main keys (default):\n");
        var keyWidth = Keys.Count == 0 ? 0 : Keys.Max(k => k.Key.Length);
        var defaultWidth = Keys.Count == 0 ? 0 : Keys.Max(k => k.Default.Length);
        foreach (var key in Keys)
        {
            text.Append("  ").Append(key.Key.PadRight(keyWidth)).Append("  ").Append(key.Default.PadRight(defaultWidth))
                .Append("  ").Append(key.Description).Append('\n');
        }

        text.Append("\nEvery key, its default and what it does: docs/configuration.md\n");
        return text.ToString();
    }
}
