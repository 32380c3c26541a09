using System.Text;
using System.Text.RegularExpressions;

namespace PeerAgent.Installer.Runtimes;

/// <summary>
/// What the installer needs from containerd's <c>config.toml</c>: its schema version and the CRI registry
/// <c>config_path</c>, the directories containerd reads <c>hosts.toml</c> from.
/// </summary>
internal sealed partial class ContainerdConfig
{
    private ContainerdConfig(bool exists, int version, string? configPath)
    {
        Exists = exists;
        Version = version;
        ConfigPath = configPath;
    }

    public bool Exists { get; }

    /// <summary>1 (containerd 1.x without <c>version</c>), 2 (1.x and 2.x) or 3 (2.x).</summary>
    public int Version { get; }

    /// <summary>The <c>config_path</c> value, or null when unset.</summary>
    public string? ConfigPath { get; }

    /// <summary>The TOML table that holds <c>config_path</c> for this version.</summary>
    public string RegistryTable => TableFor(Version);

    public static ContainerdConfig Parse(string? text, string hostPath)
    {
        if (text is null)
        {
            // A missing file: the lines to add include "version = 2", which containerd 1.x and 2.x both read.
            return new ContainerdConfig(false, 2, null);
        }

        var model = TomlText.Parse(text, hostPath);
        var version = model.TryGetValue("version", out var v) && v is long number ? (int)number : 1;
        if (version is < 1 or > 3)
        {
            throw new InstallerException($"{hostPath} has version = {version}; the installer knows containerd config versions 1, 2 and 3");
        }

        var registry = TomlText.Table(model, RegistryKeys(version));
        var configPath = registry is not null && registry.TryGetValue("config_path", out var p) && p is string s && s.Length > 0 ? s : null;
        return new ContainerdConfig(true, version, configPath);
    }

    /// <summary>True when containerd reads <paramref name="certsDir"/>: it is one of config_path's colon-separated entries.</summary>
    public bool Covers(string certsDir) =>
        ConfigPath is not null && ConfigPath.Split(':').Any(p => Normalize(p) == Normalize(certsDir));

    /// <summary>The TOML a user adds so that containerd reads <paramref name="certsDir"/>.</summary>
    public string LinesToAdd(string certsDir)
    {
        var text = new StringBuilder();
        if (!Exists)
        {
            text.Append("version = 2\n\n");
        }

        return text.Append(RegistryTable).Append("\n  config_path = ").Append(TomlText.Quote(certsDir)).Append('\n').ToString();
    }

    /// <summary>
    /// <paramref name="text"/> with config_path set to <paramref name="certsDir"/>, touching nothing else: the line is
    /// added under the existing registry table, or the table is appended. Null when the result would not parse or not
    /// cover the directory (dotted keys, inline tables); the caller then asks the user to edit by hand.
    /// </summary>
    public string? WithConfigPath(string? text, string certsDir, string hostPath)
    {
        var line = "  config_path = " + TomlText.Quote(certsDir);
        string edited;
        if (text is null)
        {
            edited = LinesToAdd(certsDir);
        }
        else
        {
            var lines = text.Split('\n').ToList();
            var header = lines.FindIndex(l => HeaderPattern(Version).IsMatch(l));
            if (header >= 0)
            {
                var end = lines.FindIndex(header + 1, l => l.TrimStart().StartsWith('['));
                end = end < 0 ? lines.Count : end;
                var existing = lines.FindIndex(header + 1, end - header - 1, l => ConfigPathLine().IsMatch(l));
                if (existing >= 0)
                {
                    lines[existing] = line;
                }
                else
                {
                    lines.Insert(header + 1, line);
                }

                edited = string.Join('\n', lines);
            }
            else if (TomlText.Table(TomlText.Parse(text, hostPath), RegistryKeys(Version)) is not null)
            {
                // The registry table exists in another form (dotted keys, an inline table): a [..registry] header
                // would define it twice, which TOML forbids even where a lenient parser accepts it.
                return null;
            }
            else
            {
                var separator = text.Length == 0 ? "" : text.EndsWith("\n\n", StringComparison.Ordinal) ? "" : text.EndsWith('\n') ? "\n" : "\n\n";
                edited = text + separator + RegistryTable + "\n" + line + "\n";
            }
        }

        try
        {
            var check = Parse(edited, hostPath);
            return check.Covers(certsDir) ? edited : null;
        }
        catch (InstallerException)
        {
            return null;
        }
    }

    private static string[] RegistryKeys(int version) => version switch
    {
        1 => ["plugins", "cri", "registry"],
        2 => ["plugins", "io.containerd.grpc.v1.cri", "registry"],
        _ => ["plugins", "io.containerd.cri.v1.images", "registry"],
    };

    private static string TableFor(int version) => version switch
    {
        1 => "[plugins.cri.registry]",
        2 => "[plugins.\"io.containerd.grpc.v1.cri\".registry]",
        _ => "[plugins.\"io.containerd.cri.v1.images\".registry]",
    };

    private static Regex HeaderPattern(int version) => version switch
    {
        1 => V1Header(),
        2 => V2Header(),
        _ => V3Header(),
    };

    private static string Normalize(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    [GeneratedRegex(@"^\s*\[\s*plugins\s*\.\s*(?:cri|""cri""|'cri')\s*\.\s*registry\s*\]\s*(?:#.*)?$")]
    private static partial Regex V1Header();

    [GeneratedRegex(@"^\s*\[\s*plugins\s*\.\s*(?:""io\.containerd\.grpc\.v1\.cri""|'io\.containerd\.grpc\.v1\.cri')\s*\.\s*registry\s*\]\s*(?:#.*)?$")]
    private static partial Regex V2Header();

    [GeneratedRegex(@"^\s*\[\s*plugins\s*\.\s*(?:""io\.containerd\.cri\.v1\.images""|'io\.containerd\.cri\.v1\.images')\s*\.\s*registry\s*\]\s*(?:#.*)?$")]
    private static partial Regex V3Header();

    [GeneratedRegex(@"^\s*config_path\s*=")]
    private static partial Regex ConfigPathLine();
}
