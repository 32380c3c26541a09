using CsCheck;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Tests.Oci;

/// <summary>
/// The digest grammar we accept: exactly <c>sha256:</c> and 64, or <c>sha512:</c> and 128, lower-case hex characters.
/// The OCI image spec registers both algorithms with the encoded part <c>[a-f0-9]{64}</c> / <c>[a-f0-9]{128}</c>, so
/// upper-case hex is not a registered digest (and would name the same content twice as a cache key).
/// </summary>
public sealed class DigestPropertyTests
{
    private const string LowerHex = "0123456789abcdef";

    private static readonly string[] OtherAlgorithms = ["SHA256", "sha384", "sha1", "", "sha256 "];

    private static readonly Gen<string> ValidDigest = Gen.OneOf(
        Gen.Char[LowerHex].Array[64].Select(hex => "sha256:" + new string(hex)),
        Gen.Char[LowerHex].Array[128].Select(hex => "sha512:" + new string(hex)));

    /// <summary>A valid digest with one fault, or none: each fault is likely on its own, so each is tried.</summary>
    private static readonly Gen<string> NearDigest = Gen.Select(
        ValidDigest,
        Gen.Int[0, 200],
        Gen.Char["ABCDEFGgz:-_ \n\u0660\uff10"],
        Gen.Int[0, 9],
        (valid, at, c, fault) =>
        {
            var colon = valid.IndexOf(':', StringComparison.Ordinal);
            var hexAt = colon + 1 + (at % (valid.Length - colon - 1));
            return fault switch
            {
                0 => valid,
                1 => string.Concat(valid.AsSpan(0, hexAt), c.ToString(), valid.AsSpan(hexAt + 1)), // one character replaced
                2 => valid.ToUpperInvariant(),
                3 => valid.Remove(hexAt, 1),
                4 => valid.Insert(hexAt, "a"),
                5 => (valid.StartsWith("sha256", StringComparison.Ordinal) ? "sha512" : "sha256") + valid[colon..],
                6 => OtherAlgorithms[at % OtherAlgorithms.Length] + valid[colon..],
                7 => valid.Replace(":", at % 2 == 0 ? "" : "::", StringComparison.Ordinal),
                8 => at % 2 == 0 ? " " + valid : valid + "\n",
                _ => valid[..hexAt],
            };
        });

    [Fact]
    public void TryParse_AnyString_AcceptsExactlyTheGrammar()
    {
        Gen.OneOf(Gen.String, NearDigest, ValidDigest).Sample(value =>
        {
            var accepted = Digest.TryParse(value, out var digest);

            accepted.Should().Be(IsDigest(value), because: $"'{value}'");
            if (!accepted)
            {
                digest.Should().Be(default(Digest));
            }
        });
    }

    [Fact]
    public void Parse_AnyRejectedString_ThrowsFormatExceptionOnly()
    {
        Gen.OneOf(Gen.String, NearDigest).Where(value => !IsDigest(value)).Sample(value =>
        {
            var act = () => Digest.Parse(value);

            act.Should().ThrowExactly<FormatException>(because: $"'{value}' is no digest").Which.Message.Length.Should().BeLessThan(200, "a hostile value is not echoed in full");
        });
    }

    [Fact]
    public void Parse_ValidDigest_RoundTripsThroughToString()
    {
        ValidDigest.Sample(value =>
        {
            var digest = Digest.Parse(value);

            digest.ToString().Should().Be(value);
            (digest.Algorithm + ":" + digest.Hex).Should().Be(value);
            Digest.Parse(digest.ToString()).Should().Be(digest);
        });
    }

    [Fact]
    public void FromHash_AnyHash_ParsesBackAndMatchesOnlyThatHash()
    {
        var hash = Gen.OneOf(("sha256", 32), ("sha512", 64))
            .SelectMany(t => Gen.Byte.Array[t.Item2].Select(bytes => (Algorithm: t.Item1, Bytes: bytes)));

        Gen.Select(hash, Gen.Int[0, 63], Gen.Byte[1, 255]).Sample((h, at, flip) =>
        {
            var digest = Digest.FromHash(h.Algorithm, h.Bytes);
            var other = (byte[])h.Bytes.Clone();
            other[at % other.Length] ^= flip;

            Digest.Parse(digest.ToString()).Should().Be(digest);
            digest.Hex.Should().Be(Convert.ToHexStringLower(h.Bytes));
            digest.Matches(h.Bytes).Should().BeTrue();
            digest.Matches(other).Should().BeFalse("one changed byte");
        });
    }

    private static bool IsDigest(string value)
    {
        var (prefix, hexLength) = value.StartsWith("sha256:", StringComparison.Ordinal) ? ("sha256:", 64)
            : value.StartsWith("sha512:", StringComparison.Ordinal) ? ("sha512:", 128)
            : (null, 0);
        return prefix is not null
            && value.Length == prefix.Length + hexLength
            && value[prefix.Length..].All(c => LowerHex.Contains(c, StringComparison.Ordinal));
    }
}
