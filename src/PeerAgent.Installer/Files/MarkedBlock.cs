using System.Text;

namespace PeerAgent.Installer.Files;

/// <summary>
/// The installer's lines in a file others own too (<c>/etc/hosts</c>), between a begin and an end marker line. Only
/// these lines are ever changed; everything before and after them keeps every byte.
/// </summary>
/// <param name="Begin">The whole first line, without its newline.</param>
/// <param name="End">The whole last line, without its newline.</param>
internal sealed record MarkedBlock(string Begin, string End)
{
    /// <summary>The lines between the markers in <paramref name="text"/>; null when there is no complete block.</summary>
    public IReadOnlyList<string>? Lines(string text)
    {
        if (Find(text) is not { } range)
        {
            return null;
        }

        var inner = text[range.InnerStart..range.InnerEnd];
        return inner.Length == 0 ? [] : inner.TrimEnd('\n').Split('\n');
    }

    /// <summary>
    /// <paramref name="text"/> with the block holding <paramref name="lines"/>: the existing block replaced where it is,
    /// or a new one appended (after a newline ending the last line, if it had none).
    /// </summary>
    public string With(string text, IEnumerable<string> lines)
    {
        var block = new StringBuilder().Append(Begin).Append('\n');
        foreach (var line in lines)
        {
            block.Append(line).Append('\n');
        }

        block.Append(End).Append('\n');
        if (Find(text) is { } range)
        {
            return string.Concat(text.AsSpan(0, range.Start), block.ToString(), text.AsSpan(range.End));
        }

        return text.Length == 0 || text.EndsWith('\n') ? text + block : text + "\n" + block;
    }

    /// <summary><paramref name="text"/> without the block (markers included); unchanged when it has none.</summary>
    public string Without(string text) =>
        Find(text) is { } range ? string.Concat(text.AsSpan(0, range.Start), text.AsSpan(range.End)) : text;

    // Start/End span the whole block including the end marker's newline (if any); Inner* the lines between the markers.
    private (int Start, int InnerStart, int InnerEnd, int End)? Find(string text)
    {
        var start = LineIndex(text, Begin, 0);
        if (start < 0)
        {
            return null;
        }

        var innerStart = start + Begin.Length + 1;
        if (innerStart > text.Length)
        {
            return null;
        }

        var end = LineIndex(text, End, innerStart);
        if (end < 0)
        {
            return null;
        }

        var after = end + End.Length;
        if (after < text.Length && text[after] == '\n')
        {
            after++;
        }

        return (start, innerStart, end, after);
    }

    // The index of a line equal to 'line' (at the start of the text or after a newline, followed by a newline or the end).
    private static int LineIndex(string text, string line, int from)
    {
        for (var at = text.IndexOf(line, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(line, at + 1, StringComparison.Ordinal))
        {
            var startsLine = at == 0 || text[at - 1] == '\n';
            var endsLine = at + line.Length == text.Length || text[at + line.Length] == '\n';
            if (startsLine && endsLine)
            {
                return at;
            }
        }

        return -1;
    }
}
