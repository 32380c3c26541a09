using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using CsCheck;
using PeerAgent.Agent.Mirror;

namespace PeerAgent.Agent.Tests.Mirror;

/// <summary>
/// Properties of the Range parser against RFC 9110 §14, stated with BigInteger arithmetic so that the expected
/// values do not share the parser's overflow cases.
/// </summary>
public sealed class ByteRangePropertyTests
{
    private static readonly Gen<long> Length = Gen.OneOf(
        Gen.Long[0, 16],
        Gen.Long[0, 1_000_000],
        Gen.Long[0, long.MaxValue],
        Gen.OneOf(0L, 1L, long.MaxValue - 1, long.MaxValue));

    /// <summary>A position as HTTP allows it: any run of digits, small, large, or past what a long holds.</summary>
    private static readonly Gen<BigInteger> Position = Gen.OneOf(
        Gen.Long[0, 20].Select(v => new BigInteger(v)),
        Gen.Long[0, long.MaxValue].Select(v => new BigInteger(v)),
        Gen.Int[19, 30].Select(digits => BigInteger.Pow(10, digits) - 1),
        Gen.OneOf(new BigInteger(long.MaxValue), new BigInteger(long.MaxValue) + 1));

    /// <summary>A position's text, sometimes with leading zeros (allowed: 1*DIGIT).</summary>
    private static readonly Gen<(BigInteger Value, string Text)> PositionText =
        Gen.Select(Position, Gen.Int[0, 3], (value, zeros) => (value, new string('0', zeros) + value.ToString(CultureInfo.InvariantCulture)));

    private static readonly Gen<string> BytesUnit = Gen.OneOf("bytes", "BYTES", "Bytes", "bYtEs");

    /// <summary>One range-spec: int-range "a-b" / "a-", or suffix-range "-n".</summary>
    private static readonly Gen<Spec> SpecGen = Gen.OneOf(
        Gen.Select(PositionText, PositionText, (a, b) => new Spec(a.Value, b.Value, null, $"{a.Text}-{b.Text}")),
        PositionText.Select(a => new Spec(a.Value, null, null, $"{a.Text}-")),
        PositionText.Select(n => new Spec(null, null, n.Value, $"-{n.Text}")));

    [Fact]
    public void TryParse_AnyHeader_NeverThrowsAndAValidRangeLiesInTheBlob()
    {
        var rangeish = Gen.Char["bytes=0123456789-, \t"].Array[0, 24].Select(chars => new string(chars));
        var header = Gen.OneOf(Gen.String, rangeish, rangeish.Select(rest => "bytes=" + rest));

        Gen.Select(header, Length).Sample((value, length) =>
        {
            var result = ByteRange.TryParse(value, length, out var range);

            result.Should().BeOneOf(ByteRange.ParseResult.Valid, ByteRange.ParseResult.Malformed, ByteRange.ParseResult.Unsatisfiable, ByteRange.ParseResult.Ignored);
            if (result == ByteRange.ParseResult.Valid)
            {
                range.First.Should().BeInRange(0, length - 1);
                range.Last.Should().BeInRange(range.First, length - 1);
            }
        });
    }

    [Fact]
    public void TryParse_OneBytesRange_AsRfc9110Defines()
    {
        Gen.Select(BytesUnit, SpecGen, Length).Sample((unit, spec, length) =>
        {
            var expected = Expected(spec, length);

            var result = ByteRange.TryParse($"{unit}={spec.Text}", length, out var range);

            result.Should().Be(expected.Result, because: $"'{unit}={spec.Text}' of a {length}-byte blob");
            if (expected.Result == ByteRange.ParseResult.Valid)
            {
                range.Should().Be(expected.Range, because: $"'{unit}={spec.Text}' of a {length}-byte blob");
            }
        });
    }

    [Fact]
    public void TryParse_RangeWithinTheBlob_RoundTrips()
    {
        var inBlob =
            from length in Gen.OneOf(Gen.Long[1, 1_000_000], Gen.Long[1, long.MaxValue])
            from first in Gen.Long[0, length - 1]
            from last in Gen.Long[first, length - 1]
            select (length, first, last);

        inBlob.Sample((length, first, last) =>
        {
            ByteRange.TryParse($"bytes={first}-{last}", length, out var closed).Should().Be(ByteRange.ParseResult.Valid);
            ByteRange.TryParse($"bytes={first}-", length, out var open).Should().Be(ByteRange.ParseResult.Valid);
            ByteRange.TryParse($"bytes=-{length - first}", length, out var suffix).Should().Be(ByteRange.ParseResult.Valid);

            closed.Should().Be(new ByteRange(first, last));
            open.Should().Be(new ByteRange(first, length - 1));
            suffix.Should().Be(new ByteRange(first, length - 1), "the last length-first bytes start at first");
        });
    }

    [Fact]
    public void TryParse_UnitOtherThanBytes_Ignored()
    {
        // RFC 9110 §14.2: an origin server MUST ignore a Range header field with a range unit it does not understand.
        var unit = Gen.Char["abcdefghijklmnopqrstuvwxyz-"].Array[1, 8].Select(chars => new string(chars))
            .Where(u => !u.Equals("bytes", StringComparison.OrdinalIgnoreCase));

        Gen.Select(unit, SpecGen, Length).Sample((u, spec, length) =>
            ByteRange.TryParse($"{u}={spec.Text}", length, out _).Should().Be(ByteRange.ParseResult.Ignored, because: $"'{u}' is no unit we serve"));
    }

    [Fact]
    public void TryParse_SeveralRanges_IgnoredUnlessOneIsInvalid()
    {
        // Several ranges are valid HTTP; this mirror serves one range only, and HTTP lets a server ignore Range.
        var separator = Gen.OneOf(",", ", ", " ,", " , ", ",\t");
        var several = SpecGen.Where(s => s.Last is null || s.Last >= s.First).Array[2, 5];

        Gen.Select(several, separator, Length, Gen.Int[0, 4], Gen.OneOf("x-1", "5-1", "-", "1-x", "--1")).Sample((specs, sep, length, at, bad) =>
        {
            var texts = specs.Select(s => s.Text).ToArray();
            var valid = ByteRange.TryParse("bytes=" + string.Join(sep, texts), length, out _);
            texts[at % texts.Length] = bad;
            var oneInvalid = ByteRange.TryParse("bytes=" + string.Join(sep, texts), length, out _);

            valid.Should().Be(ByteRange.ParseResult.Ignored, because: string.Join(sep, specs.Select(s => s.Text)));
            oneInvalid.Should().Be(ByteRange.ParseResult.Malformed, because: $"'{bad}' is no range-spec");
        });
    }

    [Fact]
    public void TryParse_AnySpecWithoutSpaces_ValidOnlyWhenItIsARangeSpec()
    {
        var spec = Gen.Char["0123456789-x"].Array[0, 12].Select(chars => new string(chars));

        Gen.Select(spec, Length).Sample((text, length) =>
        {
            var expected = Classify(text, length);

            var result = ByteRange.TryParse("bytes=" + text, length, out var range);

            result.Should().Be(expected.Result, because: $"'bytes={text}' of a {length}-byte blob");
            if (expected.Result == ByteRange.ParseResult.Valid)
            {
                range.Should().Be(expected.Range);
            }
        });
    }

    /// <summary>RFC 9110 §14.1.1–14.1.2 for one range-spec, in exact arithmetic.</summary>
    private static (ByteRange.ParseResult Result, ByteRange Range) Expected(Spec spec, long length)
    {
        if (spec.Suffix is { } n)
        {
            // A suffix range is satisfiable if n > 0. A zero-length blob has no bytes to send in a 206, so the
            // parser asks for the whole (empty) representation instead.
            return n.IsZero ? (ByteRange.ParseResult.Unsatisfiable, default)
                : length == 0 ? (ByteRange.ParseResult.Ignored, default)
                : (ByteRange.ParseResult.Valid, new ByteRange((long)BigInteger.Max(0, length - n), length - 1));
        }

        var first = spec.First!.Value;
        if (spec.Last is { } last && last < first)
        {
            return (ByteRange.ParseResult.Malformed, default); // invalid: last-pos before first-pos
        }

        if (first >= length)
        {
            return (ByteRange.ParseResult.Unsatisfiable, default);
        }

        return (ByteRange.ParseResult.Valid, new ByteRange((long)first, (long)BigInteger.Min(spec.Last ?? length - 1, length - 1)));
    }

    private static (ByteRange.ParseResult Result, ByteRange Range) Classify(string text, long length)
    {
        var intRange = Regex.Match(text, @"\A([0-9]+)-([0-9]*)\z");
        if (intRange.Success)
        {
            var last = intRange.Groups[2].Length > 0 ? BigInteger.Parse(intRange.Groups[2].Value, CultureInfo.InvariantCulture) : (BigInteger?)null;
            return Expected(new Spec(BigInteger.Parse(intRange.Groups[1].Value, CultureInfo.InvariantCulture), last, null, text), length);
        }

        var suffix = Regex.Match(text, @"\A-([0-9]+)\z");
        return suffix.Success
            ? Expected(new Spec(null, null, BigInteger.Parse(suffix.Groups[1].Value, CultureInfo.InvariantCulture), text), length)
            : (ByteRange.ParseResult.Malformed, default);
    }

    private sealed record Spec(BigInteger? First, BigInteger? Last, BigInteger? Suffix, string Text);
}
