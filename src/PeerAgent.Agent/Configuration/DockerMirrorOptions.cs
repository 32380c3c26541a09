using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Configuration;

/// <summary>
/// The HTTPS endpoint Docker Engine pulls through by distribution domain (section <c>DockerMirror</c>): the installer
/// (<c>--runtime docker</c>) resolves each registry's domain to <see cref="ListenAddress"/> and writes the certificates
/// this endpoint serves.
/// </summary>
internal sealed class DockerMirrorOptions
{
    public const string Section = "DockerMirror";

    public bool Enabled { get; set; }

    /// <summary>The installer's --docker-address; loopback unless Mirror:AllowNonLoopback.</summary>
    public string ListenAddress { get; set; } = "127.0.0.77";

    /// <summary>443: Docker names a registry domain without a port.</summary>
    public int Port { get; set; } = 443;

    /// <summary>The installer's --domain-pattern (<see cref="DistributionDomains"/>).</summary>
    public string DomainPattern { get; set; } = DistributionDomains.DefaultPattern;

    /// <summary>The installer's --docker-tls-dir: <c>&lt;domain&gt;.crt</c> and <c>&lt;domain&gt;.key</c> per domain.</summary>
    public string CertificateDir { get; set; } = "/var/lib/peeragent/docker-tls";
}
