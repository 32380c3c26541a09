using PeerAgent.Agent.Mirror;

namespace PeerAgent.Agent.Tests.Mirror;

public class ByteRangeTests
{
    [Theory]
    [InlineData("bytes=0-99", 1000, 0, 99)]
    [InlineData("bytes=100-", 1000, 100, 999)]
    [InlineData("bytes=-10", 1000, 990, 999)]
    [InlineData("bytes=-5000", 1000, 0, 999)]
    [InlineData("bytes=900-5000", 1000, 900, 999)]
    [InlineData("BYTES=1-2", 1000, 1, 2)]
    [InlineData("bytes=0-1,", 1000, 0, 1)]
    [InlineData("bytes=0-99999999999999999999", 1000, 0, 999)]
    [InlineData("bytes=-99999999999999999999", 1000, 0, 999)]
    [InlineData("bytes=0-9223372036854775808", 9223372036854775807, 0, 9223372036854775806)]
    public void TryParse_SatisfiableRange_SelectsInclusiveBounds(string header, long length, long first, long last)
    {
        ByteRange.TryParse(header, length, out var range).Should().Be(ByteRange.ParseResult.Valid);
        range.Should().Be(new ByteRange(first, last));
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=99999999999999999999-")]
    [InlineData("bytes=99999999999999999999-99999999999999999999")]
    public void TryParse_OutsideBlob_IsUnsatisfiable(string header) =>
        ByteRange.TryParse(header, 1000, out _).Should().Be(ByteRange.ParseResult.Unsatisfiable);

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=a-b")]
    [InlineData("bytes=")]
    [InlineData("bytes=-")]
    [InlineData("bytes=,")]
    [InlineData("bytes")]
    [InlineData("bytes=0-1,x")]
    [InlineData("bytes=1-2-3")]
    [InlineData("bytes=+1-2")]
    [InlineData("bytes=99999999999999999999-99999999999999999998")]
    public void TryParse_Malformed_IsMalformed(string header) =>
        ByteRange.TryParse(header, 1000, out _).Should().Be(ByteRange.ParseResult.Malformed);

    [Theory]
    [InlineData("items=0-1", 1000)]
    [InlineData("lines=1-2", 1000)]
    [InlineData("bytes=0-1,5-6", 1000)]
    [InlineData("bytes=0-1, -5", 1000)]
    [InlineData("bytes=-5", 0)]
    public void TryParse_RangeHttpLetsTheServerIgnore_IsIgnored(string header, long length) =>
        ByteRange.TryParse(header, length, out _).Should().Be(ByteRange.ParseResult.Ignored, because: "RFC 9110 §14.2: the whole blob is answered instead");
}
