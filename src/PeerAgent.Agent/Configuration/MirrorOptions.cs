namespace PeerAgent.Agent.Configuration;

/// <summary>The registry mirror endpoint the local container runtime talks to (section <c>Mirror</c>).</summary>
internal sealed class MirrorOptions
{
    public const string Section = "Mirror";

    /// <summary>Where the mirror listens; loopback only unless <see cref="AllowNonLoopback"/>.</summary>
    public string ListenUrl { get; set; } = "http://127.0.0.1:65001";

    /// <summary>Permits a non-loopback mirror address; the mirror has no auth of its own beyond the upstream's.</summary>
    public bool AllowNonLoopback { get; set; }

    /// <summary>Upstream used when a request names none (no <c>ns</c> query and no registry path prefix).</summary>
    public string DefaultRegistry { get; set; } = "docker.io";

    /// <summary>Largest manifest the agent reads into memory and caches; larger ones are refused with 502.</summary>
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;
}
