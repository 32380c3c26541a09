using System.Text;

namespace PeerAgent.Installer.Files;

/// <summary>A unified diff (<c>diff -u</c> style, three lines of context) of two small text files, for <c>--dry-run</c>.</summary>
internal static class UnifiedDiff
{
    private const int Context = 3;

    // Config files are a few KiB; an LCS table of this many cells is still small.
    private const long MaxCells = 16_000_000;

    public static string Format(string hostPath, byte[]? before, byte[]? after)
    {
        var text = new StringBuilder();
        text.Append("--- ").AppendLine(before is null ? "/dev/null" : "a" + hostPath);
        text.Append("+++ ").AppendLine(after is null ? "/dev/null" : "b" + hostPath);
        var a = SplitLines(before);
        var b = SplitLines(after);
        if ((long)(a.Length + 1) * (b.Length + 1) > MaxCells)
        {
            return text.AppendLine("(file too large to diff)").ToString();
        }

        var ops = Diff(a, b);
        var i = 0;
        while (i < ops.Count)
        {
            if (ops[i].Kind == ' ')
            {
                i++;
                continue;
            }

            // A hunk: from Context lines before this change to Context lines after the last change that is at most
            // 2 * Context unchanged lines from the next one.
            var start = Math.Max(0, i - Context);
            var end = i;
            while (true)
            {
                while (end < ops.Count && ops[end].Kind != ' ')
                {
                    end++;
                }

                var next = end;
                while (next < ops.Count && ops[next].Kind == ' ')
                {
                    next++;
                }

                if (next < ops.Count && next - end <= 2 * Context)
                {
                    end = next;
                    continue;
                }

                end = Math.Min(ops.Count, end + Context);
                break;
            }

            AppendHunk(text, ops, start, end);
            i = end;
        }

        return text.ToString();
    }

    private static void AppendHunk(StringBuilder text, List<(char Kind, string Line, int A, int B)> ops, int start, int end)
    {
        int aCount = 0, bCount = 0;
        for (var k = start; k < end; k++)
        {
            aCount += ops[k].Kind != '+' ? 1 : 0;
            bCount += ops[k].Kind != '-' ? 1 : 0;
        }

        var aStart = aCount == 0 ? ops[start].A : ops[start].A + 1;
        var bStart = bCount == 0 ? ops[start].B : ops[start].B + 1;
        text.Append("@@ -").Append(aStart).Append(',').Append(aCount)
            .Append(" +").Append(bStart).Append(',').Append(bCount).AppendLine(" @@");
        for (var k = start; k < end; k++)
        {
            text.Append(ops[k].Kind).AppendLine(ops[k].Line);
        }
    }

    // Each op carries the 0-based positions in a and b where it sits, for the hunk headers.
    private static List<(char Kind, string Line, int A, int B)> Diff(string[] a, string[] b)
    {
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var x = a.Length - 1; x >= 0; x--)
        {
            for (var y = b.Length - 1; y >= 0; y--)
            {
                lcs[x, y] = a[x] == b[y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
            }
        }

        var ops = new List<(char, string, int, int)>(a.Length + b.Length);
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (i < a.Length && j < b.Length && a[i] == b[j])
            {
                ops.Add((' ', a[i], i, j));
                i++;
                j++;
            }
            else if (i < a.Length && (j == b.Length || lcs[i + 1, j] >= lcs[i, j + 1]))
            {
                // Removals before additions, as diff -u prints a changed line.
                ops.Add(('-', a[i], i, j));
                i++;
            }
            else
            {
                ops.Add(('+', b[j], i, j));
                j++;
            }
        }

        return ops;
    }

    private static string[] SplitLines(byte[]? content)
    {
        if (content is null || content.Length == 0)
        {
            return [];
        }

        var text = Encoding.UTF8.GetString(content);
        if (text.EndsWith('\n'))
        {
            text = text[..^1];
        }

        return text.Split('\n');
    }
}
