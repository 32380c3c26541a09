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
    public void TryParse_SatisfiableRange_SelectsInclusiveBounds(string header, long length, long first, long last)
    {
        ByteRange.TryParse(header, length, out var range).Should().Be(ByteRange.ParseResult.Valid);
        range.Should().Be(new ByteRange(first, last));
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=-0")]
    public void TryParse_OutsideBlob_IsUnsatisfiable(string header) =>
        ByteRange.TryParse(header, 1000, out _).Should().Be(ByteRange.ParseResult.Unsatisfiable);

    [Theory]
    [InlineData("items=0-1")]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("bytes=a-b")]
    [InlineData("bytes=")]
    [InlineData("bytes=-")]
    public void TryParse_Malformed_IsMalformed(string header) =>
        ByteRange.TryParse(header, 1000, out _).Should().Be(ByteRange.ParseResult.Malformed);
}
