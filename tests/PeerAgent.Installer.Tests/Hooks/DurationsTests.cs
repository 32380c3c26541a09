using PeerAgent.Installer.Hooks;

namespace PeerAgent.Installer.Tests.Hooks;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("10m", 600_000)]
    [InlineData("2s", 2_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("500ms", 500)]
    [InlineData("2.5s", 2_500)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0s", 0)]
    public void TryParse_GoStyleDuration_Parses(string text, int milliseconds)
    {
        Durations.TryParse(text, out var duration).Should().BeTrue();
        duration.Should().Be(TimeSpan.FromMilliseconds(milliseconds));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("m")]
    [InlineData("-1s")]
    [InlineData("1d")]
    [InlineData("25h")]
    [InlineData("1 m")]
    public void TryParse_NotADuration_Fails(string text)
    {
        Durations.TryParse(text, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData(600_000, "10m")]
    [InlineData(90_000, "1m30s")]
    [InlineData(1_000, "1s")]
    [InlineData(250, "250ms")]
    public void Format_Duration_ReadsLikeTheOption(int milliseconds, string expected)
    {
        Durations.Format(TimeSpan.FromMilliseconds(milliseconds)).Should().Be(expected);
    }
}
