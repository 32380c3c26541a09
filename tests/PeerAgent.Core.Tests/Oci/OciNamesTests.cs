using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Tests.Oci;

public class OciNamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("ubuntu")]
    [InlineData("library/ubuntu")]
    [InlineData("a__b")]
    [InlineData("a---b")]
    [InlineData("a.b_c-d")]
    [InlineData("ghcr.io0/org-1/sub.team/img__x")]
    [InlineData("0/1/2")]
    public void IsValidRepository_GrammarAllows_True(string name) =>
        OciNames.IsValidRepository(name).Should().BeTrue();

    [Theory]
    [InlineData("")]
    [InlineData("A")]
    [InlineData("Library/ubuntu")]
    [InlineData("_a")]
    [InlineData("-a")]
    [InlineData(".a")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("a//b")]
    [InlineData("a___b")]
    [InlineData("a..b")]
    [InlineData("a_.b")]
    [InlineData("a-")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("a\n")]
    [InlineData("ubuntu/é")]
    public void IsValidRepository_GrammarForbids_False(string name) =>
        OciNames.IsValidRepository(name).Should().BeFalse();

    [Fact]
    public void IsValidRepository_255Characters_True()
    {
        var name = new string('a', 100) + "/" + new string('b', 154);

        name.Length.Should().Be(255);
        OciNames.IsValidRepository(name).Should().BeTrue();
    }

    [Fact]
    public void IsValidRepository_256Characters_False()
    {
        var name = new string('a', 100) + "/" + new string('b', 155);

        OciNames.IsValidRepository(name).Should().BeFalse("the grammar matches but the name exceeds 255 characters");
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("_x")]
    [InlineData("A")]
    [InlineData("v1.0.0-rc_1")]
    [InlineData("0")]
    public void IsValidTag_GrammarAllows_True(string tag) =>
        OciNames.IsValidTag(tag).Should().BeTrue();

    [Theory]
    [InlineData("")]
    [InlineData(".x")]
    [InlineData("-x")]
    [InlineData("a/b")]
    [InlineData("a+b")]
    [InlineData("a:b")]
    [InlineData("latest\n")]
    public void IsValidTag_GrammarForbids_False(string tag) =>
        OciNames.IsValidTag(tag).Should().BeFalse();

    [Fact]
    public void IsValidTag_128And129Characters_OnlyFirstValid()
    {
        OciNames.IsValidTag(new string('t', 128)).Should().BeTrue();
        OciNames.IsValidTag(new string('t', 129)).Should().BeFalse();
    }
}
