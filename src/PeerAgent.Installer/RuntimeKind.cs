namespace PeerAgent.Installer;

/// <summary>The container runtimes the installer configures; Docker Engine is to come.</summary>
internal enum RuntimeKind
{
    Auto,
    Containerd,
    Crio,
}
