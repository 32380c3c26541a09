using PeerAgent.Agent.Upstreams;

namespace PeerAgent.Agent.Tests.Upstreams;

public class BearerChallengeTests
{
    [Fact]
    public void TryParse_DockerHubChallenge_ReadsRealmServiceScope()
    {
        BearerChallenge.TryParse(
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:library/alpine:pull\"",
            out var challenge).Should().BeTrue();

        challenge!.Realm.Should().Be(new Uri("https://auth.example/token"));
        challenge.Service.Should().Be("registry.example");
        challenge.Scope.Should().Be("repository:library/alpine:pull");
    }

    [Theory]
    [InlineData("Basic realm=\"Registry Realm\"")]
    [InlineData("Bearer service=\"x\"")]
    [InlineData("Bearer realm=\"file:///etc/passwd\"")]
    [InlineData(null)]
    public void TryParse_NotAUsableBearerChallenge_Fails(string? header) =>
        BearerChallenge.TryParse(header, out _).Should().BeFalse();
}
