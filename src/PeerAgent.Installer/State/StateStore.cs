using System.Text.Json;
using PeerAgent.Installer.Files;

namespace PeerAgent.Installer.State;

/// <summary>
/// The installer's state directory under the root: <c>state.json</c> and <c>backup/&lt;host path&gt;</c> for every file it
/// replaced. One place (rather than a backup beside each file) so nothing foreign sits in the runtime's directories
/// and uninstall knows every file and directory it must undo from one manifest.
/// </summary>
internal sealed class StateStore
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private readonly HostRoot _root;

    public StateStore(HostRoot root, string stateDir)
    {
        _root = root;
        StateDir = stateDir;
    }

    /// <summary>The state directory's host path.</summary>
    public string StateDir { get; }

    public string ManifestHostPath => Path.Join(StateDir, "state.json");

    public string BackupHostPath(string hostPath) => Path.Join(StateDir, "backup", hostPath.TrimStart('/'));

    public InstallState? Load()
    {
        var path = _root.Resolve(ManifestHostPath);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<InstallState>(File.ReadAllBytes(path), JsonOptions)
                ?? throw new InstallerException($"{ManifestHostPath} is empty");
        }
        catch (JsonException e)
        {
            throw new InstallerException($"{ManifestHostPath} is not a valid installer state ({e.Message}); remove it only after restoring its backups by hand");
        }
    }

    public static byte[] Serialize(InstallState state) => JsonSerializer.SerializeToUtf8Bytes(state, JsonOptions);

    /// <summary>The bytes a file had before the installer first touched it: null if the installer created it.</summary>
    public byte[]? ReadOriginal(InstallState? state, string hostPath)
    {
        var entry = state?.Find(hostPath);
        if (entry is null)
        {
            var current = _root.Resolve(hostPath);
            return File.Exists(current) ? File.ReadAllBytes(current) : null;
        }

        return entry.HasBackup ? File.ReadAllBytes(_root.Resolve(BackupHostPath(hostPath))) : null;
    }
}
