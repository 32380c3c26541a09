using System.Text;
using Tomlyn;
using Tomlyn.Model;

namespace PeerAgent.Installer.Runtimes;

/// <summary>Small TOML helpers: parse to a model, quote a string, find where the first table starts.</summary>
internal static class TomlText
{
    public static TomlTable Parse(string text, string hostPath)
    {
        try
        {
            return TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            throw new InstallerException($"{hostPath} is not valid TOML, so the installer leaves it alone: {e.Message}");
        }
    }

    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public static TomlTable? Table(TomlTable table, params string[] keys)
    {
        var current = table;
        foreach (var key in keys)
        {
            if (!current.TryGetValue(key, out var next) || next is not TomlTable child)
            {
                return null;
            }

            current = child;
        }

        return current;
    }

    /// <summary>
    /// The offset of the first line that opens a table (<c>[x]</c> or <c>[[x]]</c>), or the text's length. Top-level
    /// keys all come before it. Lines inside multi-line strings are skipped; callers re-parse what they build anyway.
    /// </summary>
    public static int FirstTableOffset(string text)
    {
        var offset = 0;
        var inMultiline = false;
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimStart();
            if (!inMultiline && trimmed.StartsWith('['))
            {
                return offset;
            }

            var quotes = Count(line, "\"\"\"") + Count(line, "'''");
            if (quotes % 2 == 1)
            {
                inMultiline = !inMultiline;
            }

            offset += line.Length + 1;
        }

        return text.Length;
    }

    public static string Utf8(byte[] content) => Encoding.UTF8.GetString(content);

    private static int Count(string line, string token)
    {
        var count = 0;
        for (var i = line.IndexOf(token, StringComparison.Ordinal); i >= 0; i = line.IndexOf(token, i + token.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
