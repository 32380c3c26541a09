using System.Text.Json.Serialization;

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

    /// <summary>For a file the installer owns only a marked block of: the block's first line; uninstall removes the block.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BlockBegin { get; set; }

    /// <summary>The block's last line.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BlockEnd { get; set; }

    [JsonIgnore]
    public Files.MarkedBlock? Block => BlockBegin is not null && BlockEnd is not null ? new Files.MarkedBlock(BlockBegin, BlockEnd) : null;
}
