using CsCheck;
using PeerAgent.Agent.Mirror;

namespace PeerAgent.Agent.Tests.Mirror;

/// <summary>Properties of the pull-path parser: total on any path, exact on every valid name and reference.</summary>
public sealed class MirrorRoutePropertyTests
{
    private static readonly Gen<string> Alnum = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[1, 6].Select(chars => new string(chars));

    /// <summary>A path component of the OCI name grammar; the route markers' words are components too.</summary>
    private static readonly Gen<string> Component = Gen.OneOf(
        Gen.Select(Alnum, Gen.OneOf(".", "_", "__", "-", "---"), Alnum, (a, separator, b) => a + separator + b),
        Alnum,
        Gen.OneOf("manifests", "blobs", "v2", "uploads"));

    private static readonly Gen<string> Name = Component.Array[1, 5].Select(components => string.Join('/', components));

    private static readonly Gen<string> Tag = Gen.Select(
        Gen.Char["abcXYZ019_"],
        Gen.Char["abcXYZ019_.-"].Array[0, 20],
        (first, rest) => first + new string(rest));

    private static readonly Gen<string> DigestReference = Gen.Char["0123456789abcdef"].Array[64].Select(hex => "sha256:" + new string(hex));

    [Fact]
    public void TryParse_AnyPath_NeverThrowsAndAcceptsOnlyWhatItCanRebuild()
    {
        var segment = Gen.OneOf(Gen.OneOf("v2", "manifests", "blobs", "", "a", "sha256:ab", "..", "%2F"), Alnum);
        var pathish = segment.Array[0, 7].Select(segments => "/" + string.Join('/', segments));
        var path = Gen.OneOf(Gen.String, pathish, Gen.Char["/v2amnifestblo:"].Array[0, 30].Select(chars => new string(chars)));

        path.Sample(p =>
        {
            if (!MirrorRoute.TryParse(p, out var route))
            {
                return;
            }

            if (route.Kind == RouteKind.Base)
            {
                p.Should().BeOneOf("/v2", "/v2/");
                return;
            }

            var marker = route.Kind == RouteKind.Manifest ? "manifests" : "blobs";
            $"/v2/{route.Name}/{marker}/{route.Reference}".Should().Be(p, "the route is all of the path");
            route.Name.Should().NotBeEmpty();
            route.Reference.Should().NotBeEmpty().And.NotContain("/");
        });
    }

    [Fact]
    public void TryParse_ValidNameAndReference_RoundTrips()
    {
        Gen.Select(Name, Gen.OneOf(Tag, DigestReference), Gen.Bool).Sample((name, reference, manifest) =>
        {
            var kind = manifest ? RouteKind.Manifest : RouteKind.Blob;
            var path = $"/v2/{name}/{(manifest ? "manifests" : "blobs")}/{reference}";

            MirrorRoute.TryParse(path, out var route).Should().BeTrue(path);
            route.Should().Be(new MirrorRoute(kind, name, reference), because: path);
        });
    }
}
