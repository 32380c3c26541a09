using PeerAgent.Agent.Downloads;

namespace PeerAgent.Agent.Tests.Downloads;

public class PeerLocalityTests
{
    [Theory]
    [InlineData("a", "r1", "a", "r1", PeerLocality.Zone)]
    [InlineData("a", "", "a", "", PeerLocality.Zone)]
    [InlineData("a", "r1", "b", "r1", PeerLocality.Region)]
    [InlineData("a", "r1", "", "r1", PeerLocality.Region)]
    [InlineData("a", "r1", "a", "r2", PeerLocality.Remote)]
    [InlineData("a", "r1", "c", "r2", PeerLocality.Remote)]
    [InlineData("a", "r1", "", "", PeerLocality.Unknown)]
    [InlineData("", "", "a", "r1", PeerLocality.Unknown)]
    [InlineData("", "", "", "", PeerLocality.Unknown)]
    public void Of_SelfAndParentLabels_ClassifiesTheParent(string selfZone, string selfRegion, string parentZone, string parentRegion, string expected)
    {
        PeerLocality.Of(selfZone, selfRegion, parentZone, parentRegion).Should().Be(expected);
    }
}
