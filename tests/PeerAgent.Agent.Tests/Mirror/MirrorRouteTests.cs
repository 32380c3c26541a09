using PeerAgent.Agent.Mirror;

namespace PeerAgent.Agent.Tests.Mirror;

public class MirrorRouteTests
{
    [Theory]
    [InlineData("/v2/")]
    [InlineData("/v2")]
    public void TryParse_BasePath_IsBase(string path)
    {
        MirrorRoute.TryParse(path, out var route).Should().BeTrue();
        route!.Kind.Should().Be(RouteKind.Base);
    }

    [Fact]
    public void TryParse_NestedNameManifest_KeepsSlashesInName()
    {
        MirrorRoute.TryParse("/v2/org/team/app/manifests/v1.2", out var route).Should().BeTrue();
        route.Should().Be(new MirrorRoute(RouteKind.Manifest, "org/team/app", "v1.2"));
    }

    [Fact]
    public void TryParse_NameContainingBlobsComponent_UsesLastMarker()
    {
        MirrorRoute.TryParse("/v2/blobs/manifests/x/blobs/sha256:abc", out var route).Should().BeTrue();
        route.Should().Be(new MirrorRoute(RouteKind.Blob, "blobs/manifests/x", "sha256:abc"));
    }

    [Theory]
    [InlineData("/v2/app/tags/list")]
    [InlineData("/v2/app/blobs/")]
    [InlineData("/v2//blobs/sha256:abc")]
    [InlineData("/v1/app/manifests/latest")]
    [InlineData("/v2/app/blobs/uploads/abc")]
    public void TryParse_NotAPullPath_Fails(string path) =>
        MirrorRoute.TryParse(path, out _).Should().BeFalse(because: $"'{path}' is not a pull API path");
}
