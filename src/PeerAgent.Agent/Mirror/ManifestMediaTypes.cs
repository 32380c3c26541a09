namespace PeerAgent.Agent.Mirror;

/// <summary>Manifest media types the agent asks for when it needs a manifest of any kind.</summary>
internal static class ManifestMediaTypes
{
    public static readonly IReadOnlyList<string> All =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ];
}
