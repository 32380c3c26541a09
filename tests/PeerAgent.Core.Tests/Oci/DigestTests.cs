using System.Security.Cryptography;
using System.Text;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Tests.Oci;

public class DigestTests
{
    private const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private const string AbcSha512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    [Fact]
    public void Parse_ValidSha256_ExposesAlgorithmAndHex()
    {
        var digest = Digest.Parse("sha256:" + AbcSha256);

        digest.Algorithm.Should().Be("sha256");
        digest.Hex.Should().Be(AbcSha256);
        digest.ToString().Should().Be("sha256:" + AbcSha256);
    }

    [Fact]
    public void Parse_ValidSha512_ExposesAlgorithmAndHex()
    {
        var digest = Digest.Parse("sha512:" + AbcSha512);

        digest.Algorithm.Should().Be("sha512");
        digest.Hex.Should().Be(AbcSha512);
    }

    [Theory]
    [InlineData("", "':'")]
    [InlineData("sha256", "':'")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", "algorithm 'md5' is not supported")]
    [InlineData("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "algorithm 'SHA256' is not supported")]
    [InlineData("sha256:", "64 hex characters, got 0")]
    [InlineData("sha256:ba7816bf", "64 hex characters, got 8")]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad00", "64 hex characters, got 66")]
    [InlineData("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "128 hex characters, got 64")]
    [InlineData("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "'B' (upper-case hex) at hex position 0")]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aZ", "'Z' (not a hex digit) at hex position 63")]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001 ad", "not a hex digit")]
    public void Parse_Invalid_ThrowsFormatExceptionNamingTheProblem(string value, string messagePart)
    {
        var act = () => Digest.Parse(value);

        act.Should().Throw<FormatException>().Which.Message.Should().Contain(messagePart);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256:abc")]
    [InlineData("sha1:a9993e364706816aba3e25717850c26c9cd0d89d")]
    [InlineData("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")]
    public void TryParse_Invalid_ReturnsFalse(string? value)
    {
        Digest.TryParse(value, out var digest).Should().BeFalse();
        digest.Should().Be(default(Digest));
    }

    [Fact]
    public void TryParse_Valid_ReturnsTrueAndValue()
    {
        Digest.TryParse("sha256:" + AbcSha256, out var digest).Should().BeTrue();
        digest.Should().Be(Digest.Parse("sha256:" + AbcSha256));
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNull()
    {
        var act = () => Digest.Parse(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Compute_Abc_MatchesKnownVectors()
    {
        var abc = Encoding.ASCII.GetBytes("abc");

        Digest.Compute(abc).Should().Be(Digest.Parse("sha256:" + AbcSha256));
        Digest.Compute(abc, "sha512").Should().Be(Digest.Parse("sha512:" + AbcSha512));
    }

    [Fact]
    public void Compute_UnknownAlgorithm_Throws()
    {
        var act = () => Digest.Compute([1, 2, 3], "md5");

        act.Should().Throw<ArgumentException>().WithMessage("*md5*");
    }

    [Fact]
    public void Equality_SameTextParsedTwice_EqualWithSameHashCode()
    {
        var a = Digest.Parse("sha256:" + AbcSha256);
        var b = Digest.Parse(string.Concat("sha256:", AbcSha256.AsSpan()));

        (a == b).Should().BeTrue();
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Should().NotBe(Digest.Compute([1]));
    }

    [Fact]
    public void Matches_RightHash_True()
    {
        var digest = Digest.Parse("sha256:" + AbcSha256);

        digest.Matches(SHA256.HashData(Encoding.ASCII.GetBytes("abc"))).Should().BeTrue();
    }

    [Fact]
    public void Matches_WrongOrShortHash_False()
    {
        var digest = Digest.Parse("sha256:" + AbcSha256);
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes("abc"));
        hash[31] ^= 1;

        digest.Matches(hash).Should().BeFalse("one flipped bit must not match");
        digest.Matches(hash.AsSpan(0, 16)).Should().BeFalse("a truncated hash must not match");
        default(Digest).Matches(hash).Should().BeFalse();
    }

    [Fact]
    public void CreateHasher_Sha512Digest_ProducesMatchingHash()
    {
        var digest = Digest.Parse("sha512:" + AbcSha512);
        using var hasher = digest.CreateHasher();
        hasher.AppendData(Encoding.ASCII.GetBytes("ab"));
        hasher.AppendData(Encoding.ASCII.GetBytes("c"));

        digest.Matches(hasher.GetHashAndReset()).Should().BeTrue();
    }

    [Fact]
    public void FromHash_WrongLength_Throws()
    {
        var act = () => Digest.FromHash("sha256", new byte[31]);

        act.Should().Throw<ArgumentException>().WithMessage("*32 bytes*");
    }

    [Fact]
    public void FromHash_Hash_RoundTripsThroughParse()
    {
        var hash = SHA512.HashData(Encoding.ASCII.GetBytes("abc"));

        Digest.FromHash("sha512", hash).Should().Be(Digest.Parse("sha512:" + AbcSha512));
    }
}
