namespace PeerAgent.Installer.State;

/// <summary>A file the installer wrote: it either replaced a file (kept as a backup) or created one.</summary>
internal sealed class ManagedFile
{
    /// <summary>The host path.</summary>
    public string Path { get; set; } = "";

    /// <summary>True when the original was saved under the state directory; false when the installer created the file.</summary>
    public bool HasBackup { get; set; }

    /// <summary>The original's mode, restored with its bytes.</summary>
    public int Mode { get; set; }
}
