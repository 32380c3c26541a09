using System.Net;
using PeerAgent.Core.Oci;
using PeerAgent.Installer.Files;

namespace PeerAgent.Installer;

/// <summary>What one run of the installer was asked to do, checked and with host paths made absolute.</summary>
internal sealed record InstallerSettings
{
    public const string DefaultMirrorUrl = "http://127.0.0.1:65001";
    public const string DefaultContainerdConfig = "/etc/containerd/config.toml";
    public const string DefaultCertsDir = "/etc/containerd/certs.d";
    public const string DefaultRegistriesConfDir = "/etc/containers/registries.conf.d";
    public const string DefaultStateDir = "/var/lib/peeragent/installer";
    public const string DefaultDockerCertsDir = "/etc/docker/certs.d";
    public const string DefaultHostsFile = "/etc/hosts";
    public const string DefaultDockerAddress = "127.0.0.77";
    public const string DefaultDockerTlsDir = "/var/lib/peeragent/docker-tls";

    /// <summary>containerd's name for "every registry without a directory of its own".</summary>
    public const string AllRegistries = "_default";

    public required HostRoot Root { get; init; }

    public bool DryRun { get; init; }

    public RuntimeKind Runtime { get; init; } = RuntimeKind.Auto;

    /// <summary>Canonical registry hosts (docker.io for its aliases) or <see cref="AllRegistries"/>, without duplicates.</summary>
    public IReadOnlyList<string> Registries { get; init; } = [];

    /// <summary>The agent's mirror, without a trailing slash.</summary>
    public Uri MirrorUrl { get; init; } = new(DefaultMirrorUrl);

    public string ContainerdConfig { get; init; } = DefaultContainerdConfig;

    public string CertsDir { get; init; } = DefaultCertsDir;

    public string RegistriesConfDir { get; init; } = DefaultRegistriesConfDir;

    public string StateDir { get; init; } = DefaultStateDir;

    public bool EditContainerdConfig { get; init; }

    /// <summary>Docker Engine reads <c>&lt;domain&gt;/ca.crt</c> here.</summary>
    public string DockerCertsDir { get; init; } = DefaultDockerCertsDir;

    /// <summary>Where the distribution domains are made to resolve to <see cref="DockerAddress"/>.</summary>
    public string HostsFile { get; init; } = DefaultHostsFile;

    /// <summary>The loopback address the agent's Docker endpoint listens on (DockerMirror:ListenAddress).</summary>
    public IPAddress DockerAddress { get; init; } = IPAddress.Parse(DefaultDockerAddress);

    /// <summary>The distribution domain pattern (<see cref="DistributionDomains"/>), the same as the agent's DockerMirror:DomainPattern.</summary>
    public string DomainPattern { get; init; } = DistributionDomains.DefaultPattern;

    /// <summary>The CA and the serving certificates the agent reads (DockerMirror:CertificateDir).</summary>
    public string DockerTlsDir { get; init; } = DefaultDockerTlsDir;

    /// <summary>The clock certificates are issued and checked against.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The mirror as containerd writes a host: scheme, host and port, no trailing slash.</summary>
    public string MirrorOrigin => MirrorUrl.GetLeftPart(UriPartial.Authority);
}
