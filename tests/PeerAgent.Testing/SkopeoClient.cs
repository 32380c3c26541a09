using System.Globalization;

namespace PeerAgent.Testing;

/// <summary>Runs skopeo 1.9 as a pull client that goes through a <c>registries.conf</c> mirror.</summary>
/// <remarks>
/// Observed with skopeo 1.9.3 and a <c>[[registry.mirror]]</c> entry: it asks the mirror
/// <c>GET /v2/</c>, <c>GET /v2/REPO/manifests/TAG</c> and <c>GET /v2/REPO/blobs/sha256:...</c> with the repository
/// name unchanged and no <c>ns</c> query; the mirror must therefore map such requests to its default registry.
/// When the mirror fails it falls back to the primary location. <c>--insecure-policy</c> avoids depending on
/// /etc/containers/policy.json, which a bare CI machine may lack.
/// </remarks>
public static class SkopeoClient
{
    /// <summary>Writes a registries.conf where <paramref name="upstreamHost"/> is mirrored by <paramref name="mirrorHost"/> (both "127.0.0.1:PORT", plain HTTP).</summary>
    public static string WriteRegistriesConf(string path, string upstreamHost, string mirrorHost)
    {
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $"""
            unqualified-search-registries = []

            [[registry]]
            location = "{upstreamHost}"
            insecure = true

            [[registry.mirror]]
            location = "{mirrorHost}"
            insecure = true

            """));
        return path;
    }

    /// <summary>
    /// <c>skopeo --registries-conf FILE copy --src-tls-verify=false SOURCE dir:DEST</c>. The dir: destination stores
    /// each blob unmodified as DEST/HEX, so files can be checked against their digests.
    /// </summary>
    public static Task<ProcessResult> CopyToDirAsync(string source, string destDir, string registriesConfPath, string? creds = null, bool check = true)
    {
        var args = new List<string>
        {
            "--insecure-policy", "--registries-conf", registriesConfPath,
            "copy", "--src-tls-verify=false",
        };
        if (creds is not null)
        {
            args.Add($"--src-creds={creds}");
        }

        args.Add(source);
        args.Add($"dir:{destDir}");
        return ProcessRunner.RunAsync("skopeo", args, TimeSpan.FromMinutes(3), check);
    }
}
