using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Tests.Oci;

public sealed class DistributionDomainsTests
{
    [Theory]
    [InlineData("docker.io", "docker.io.peeragent.internal")]
    [InlineData("index.docker.io", "docker.io.peeragent.internal")]
    [InlineData("GHCR.io", "ghcr.io.peeragent.internal")]
    [InlineData("registry.example:5000", "registry.example-5000.peeragent.internal")]
    [InlineData("127.0.0.1:5000", "127.0.0.1-5000.peeragent.internal")]
    [InlineData("localhost:5000", "localhost-5000.peeragent.internal")]
    public void TryGetDomain_DefaultPattern_CanonicalHostWithColonAsHyphen(string registry, string expected)
    {
        DistributionDomains.TryGetDomain(DistributionDomains.DefaultPattern, registry, out var domain, out var error).Should().BeTrue(error);
        domain.Should().Be(expected);
    }

    [Fact]
    public void TryGetDomain_PrefixPattern_PlacesTheRegistry()
    {
        DistributionDomains.TryGetDomain("mirror-{registry}.corp.example", "quay.io", out var domain, out _).Should().BeTrue();
        domain.Should().Be("mirror-quay.io.corp.example");
    }

    [Theory]
    [InlineData("peeragent.internal", "exactly once")]
    [InlineData("{registry}.{registry}", "exactly once")]
    [InlineData("{registry}", "own name")]
    [InlineData("{registry}.peer_agent", "'_'")]
    [InlineData("{registry}..internal", "1 to 63")]
    [InlineData("-{registry}.internal", "starts or ends")]
    public void TryValidatePattern_Invalid_SaysWhy(string pattern, string reason)
    {
        DistributionDomains.TryValidatePattern(pattern, out var error).Should().BeFalse();
        error.Should().Contain(reason);
    }

    [Fact]
    public void TryGetDomain_Ipv6Registry_IsNotADnsName()
    {
        DistributionDomains.TryGetDomain(DistributionDomains.DefaultPattern, "[::1]:5000", out _, out var error).Should().BeFalse();
        error.Should().Contain("not a DNS name");
    }

    [Fact]
    public void TryGetDomain_NoDot_RefusedBecauseDockerReadsItAsANamespace()
    {
        DistributionDomains.TryGetDomain("{registry}-mirror", "localhost", out _, out var error).Should().BeFalse();
        error.Should().Contain("dot");
    }

    [Fact]
    public void TryGetDomain_TooLong_Refused()
    {
        var pattern = "{registry}." + string.Join('.', Enumerable.Repeat(new string('a', 60), 5));
        DistributionDomains.TryGetDomain(pattern, "docker.io", out _, out var error).Should().BeFalse();
        error.Should().Contain("253");
    }

    [Fact]
    public void TryGetDomain_IpLookingResult_Refused()
    {
        DistributionDomains.TryGetDomain("{registry}.1", "10.0.0.1", out _, out var error).Should().BeFalse();
        error.Should().Contain("IP address");
    }
}
