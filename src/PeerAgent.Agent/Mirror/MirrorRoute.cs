using System.Diagnostics.CodeAnalysis;

namespace PeerAgent.Agent.Mirror;

/// <summary>The three shapes of a pull API path under <c>/v2/</c>.</summary>
internal enum RouteKind
{
    Base,
    Manifest,
    Blob,
}

/// <summary>A parsed <c>/v2/&lt;name&gt;/(manifests|blobs)/&lt;reference&gt;</c> path; the name may contain slashes.</summary>
internal sealed record MirrorRoute(RouteKind Kind, string Name, string Reference)
{
    public static bool TryParse(string path, [NotNullWhen(true)] out MirrorRoute? route)
    {
        route = null;
        if (path is "/v2" or "/v2/")
        {
            route = new MirrorRoute(RouteKind.Base, "", "");
            return true;
        }

        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path[4..];
        var manifests = rest.LastIndexOf("/manifests/", StringComparison.Ordinal);
        var blobs = rest.LastIndexOf("/blobs/", StringComparison.Ordinal);
        if (manifests < 0 && blobs < 0)
        {
            return false;
        }

        var (kind, at, marker) = manifests > blobs
            ? (RouteKind.Manifest, manifests, "/manifests/")
            : (RouteKind.Blob, blobs, "/blobs/");
        var name = rest[..at];
        var reference = rest[(at + marker.Length)..];
        if (name.Length == 0 || reference.Length == 0 || reference.Contains('/', StringComparison.Ordinal))
        {
            return false;
        }

        route = new MirrorRoute(kind, name, reference);
        return true;
    }

    public string KindLabel => Kind switch
    {
        RouteKind.Manifest => "manifest",
        RouteKind.Blob => "blob",
        _ => "base",
    };
}
