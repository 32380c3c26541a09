namespace PeerAgent.Agent.Mirror;

/// <summary>One satisfiable byte range of a blob, inclusive at both ends as in HTTP.</summary>
internal readonly record struct ByteRange(long First, long Last)
{
    public long Length => Last - First + 1;

    public enum ParseResult
    {
        /// <summary>One satisfiable range: answer 206 with it.</summary>
        Valid,

        /// <summary>Not a byte ranges-specifier (syntax, or a last position before the first): answer 400.</summary>
        Malformed,

        /// <summary>A valid range that selects no byte of the blob: answer 416.</summary>
        Unsatisfiable,

        /// <summary>Answer as if there were no Range header (200, the whole blob): see <see cref="TryParse"/>.</summary>
        Ignored,
    }

    /// <summary>
    /// Parses a Range header against a blob length as RFC 9110 §14 defines: <c>bytes=a-b</c>, <c>bytes=a-</c> or
    /// <c>bytes=-n</c>; positions past what a long holds are valid and behave as the largest long.
    /// </summary>
    /// <remarks>
    /// <see cref="ParseResult.Ignored"/> for a range unit other than bytes (a server must ignore those), for several
    /// ranges (valid, but this mirror serves one range and HTTP lets a server ignore Range), and for a suffix range of
    /// a zero-length blob (satisfiable, yet a 206 could not name its bytes).
    /// </remarks>
    public static ParseResult TryParse(string header, long length, out ByteRange range)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        range = default;
        var value = TrimOws(header);
        var equals = value.IndexOf('=');
        if (equals < 0)
        {
            return ParseResult.Malformed;
        }

        if (!value[..equals].Equals("bytes", StringComparison.OrdinalIgnoreCase))
        {
            return ParseResult.Ignored;
        }

        // range-set = 1#range-spec; a list may hold empty elements, which do not count (RFC 9110 §5.6.1).
        var set = value[(equals + 1)..];
        var count = 0;
        Spec single = default;
        foreach (var part in set.Split(','))
        {
            var element = TrimOws(set[part]);
            if (element.IsEmpty)
            {
                continue;
            }

            if (!Spec.TryParse(element, out var spec))
            {
                return ParseResult.Malformed;
            }

            count++;
            single = spec;
        }

        return count switch
        {
            0 => ParseResult.Malformed,
            1 => single.Resolve(length, out range),
            _ => ParseResult.Ignored,
        };
    }

    private static ReadOnlySpan<char> TrimOws(ReadOnlySpan<char> text) => text.Trim(" \t");

    /// <summary>Digits to a number; more than a long holds saturates (those positions lie past any blob).</summary>
    private static bool TryParseDigits(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            var digit = c - '0';
            value = value > (long.MaxValue - digit) / 10 ? long.MaxValue : (value * 10) + digit;
        }

        return true;
    }

    /// <summary>Compares two runs of digits as numbers of any size.</summary>
    private static int CompareDigits(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        return a.Length != b.Length ? a.Length.CompareTo(b.Length) : a.SequenceCompareTo(b);
    }

    /// <summary>One range-spec: <c>first-[last]</c>, or <c>-suffix</c> when <see cref="First"/> is negative.</summary>
    private readonly record struct Spec(long First, long Last, long Suffix)
    {
        public static bool TryParse(ReadOnlySpan<char> element, out Spec spec)
        {
            spec = default;
            var dash = element.IndexOf('-');
            if (dash < 0)
            {
                return false;
            }

            var firstText = TrimOws(element[..dash]);
            var lastText = TrimOws(element[(dash + 1)..]);
            if (firstText.IsEmpty)
            {
                if (!TryParseDigits(lastText, out var suffix))
                {
                    return false;
                }

                spec = new Spec(-1, -1, suffix);
                return true;
            }

            if (!TryParseDigits(firstText, out var first))
            {
                return false;
            }

            var last = long.MaxValue;
            if (!lastText.IsEmpty && (!TryParseDigits(lastText, out last) || CompareDigits(lastText, firstText) < 0))
            {
                return false; // a last position before the first makes the range-spec invalid
            }

            spec = new Spec(first, last, 0);
            return true;
        }

        public ParseResult Resolve(long length, out ByteRange range)
        {
            range = default;
            if (First < 0)
            {
                if (Suffix == 0)
                {
                    return ParseResult.Unsatisfiable;
                }

                if (length == 0)
                {
                    return ParseResult.Ignored;
                }

                range = new ByteRange(Math.Max(0, length - Suffix), length - 1);
                return ParseResult.Valid;
            }

            if (First >= length)
            {
                return ParseResult.Unsatisfiable;
            }

            range = new ByteRange(First, Math.Min(Last, length - 1));
            return ParseResult.Valid;
        }
    }
}
