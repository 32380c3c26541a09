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

    /// <summary>The mirror as containerd writes a host: scheme, host and port, no trailing slash.</summary>
    public string MirrorOrigin => MirrorUrl.GetLeftPart(UriPartial.Authority);
}
