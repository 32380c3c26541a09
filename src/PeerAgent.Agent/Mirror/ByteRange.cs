using System.Globalization;

namespace PeerAgent.Agent.Mirror;

/// <summary>One satisfiable byte range of a blob, inclusive at both ends as in HTTP.</summary>
internal readonly record struct ByteRange(long First, long Last)
{
    public long Length => Last - First + 1;

    public enum ParseResult
    {
        Valid,
        Malformed,
        Unsatisfiable,
    }

    /// <summary>Parses a single-range <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> against a blob length.</summary>
    public static ParseResult TryParse(string header, long length, out ByteRange range)
    {
        range = default;
        var value = header.Trim();
        if (!value.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || value.Contains(',', StringComparison.Ordinal))
        {
            return ParseResult.Malformed;
        }

        var spec = value[6..];
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return ParseResult.Malformed;
        }

        var firstText = spec[..dash].Trim();
        var lastText = spec[(dash + 1)..].Trim();
        if (firstText.Length == 0)
        {
            // suffix range: the last n bytes
            if (!TryParseNumber(lastText, out var suffix))
            {
                return ParseResult.Malformed;
            }

            if (suffix == 0 || length == 0)
            {
                return ParseResult.Unsatisfiable;
            }

            range = new ByteRange(Math.Max(0, length - suffix), length - 1);
            return ParseResult.Valid;
        }

        if (!TryParseNumber(firstText, out var first))
        {
            return ParseResult.Malformed;
        }

        var last = length - 1;
        if (lastText.Length > 0)
        {
            if (!TryParseNumber(lastText, out last) || last < first)
            {
                return ParseResult.Malformed;
            }
        }

        if (first >= length)
        {
            return ParseResult.Unsatisfiable;
        }

        range = new ByteRange(first, Math.Min(last, length - 1));
        return ParseResult.Valid;
    }

    private static bool TryParseNumber(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
