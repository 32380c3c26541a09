namespace PeerAgent.Installer;

/// <summary>The container runtimes the installer configures.</summary>
internal enum RuntimeKind
{
    Auto,
    Containerd,
    Crio,
    Docker,
}
