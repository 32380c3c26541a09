namespace PeerAgent.Agent.Configuration;

/// <summary>Settings for one upstream registry (an entry of the <c>Registries</c> array).</summary>
internal sealed class RegistryOptions
{
    public const string Section = "Registries";

    /// <summary>The registry host as clients name it, e.g. <c>ghcr.io</c> or <c>127.0.0.1:5000</c>.</summary>
    public string Host { get; set; } = "";

    /// <summary>Where the agent actually connects, when not <c>https://Host</c> (or <c>http://</c> with <see cref="PlainHttp"/>).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Talk plain HTTP to this registry (local test registries).</summary>
    public bool PlainHttp { get; set; }

    /// <summary>PEM file of extra CA certificates trusted for this registry.</summary>
    public string? CaFile { get; set; }

    /// <summary>Node-level credentials; only allowed on a <see cref="Public"/> (cluster-trusted) registry.</summary>
    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>Reads the password from a file (a mounted Secret) instead of <see cref="Password"/>.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>
    /// Cluster-trusted: anyone who can reach the mirror may read this registry's content through the agent,
    /// so cached content is served without asking the upstream first.
    /// </summary>
    public bool Public { get; set; }
}
