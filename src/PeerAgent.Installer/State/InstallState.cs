namespace PeerAgent.Installer.State;

/// <summary>What <c>install</c> changed on a node, so that <c>uninstall</c> can put every byte back.</summary>
internal sealed class InstallState
{
    public int Version { get; set; } = 1;

    /// <summary>Files the installer wrote, in the order it first touched them.</summary>
    public List<ManagedFile> Files { get; set; } = [];

    /// <summary>Directories the installer created for those files (host paths), parents first.</summary>
    public List<string> CreatedDirectories { get; set; } = [];

    /// <summary>Directories created to hold this state itself, parents first.</summary>
    public List<string> StateDirectories { get; set; } = [];

    public ManagedFile? Find(string hostPath) => Files.Find(f => f.Path == hostPath);
}
