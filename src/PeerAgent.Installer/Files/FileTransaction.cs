using System.Text;
using PeerAgent.Installer.State;

namespace PeerAgent.Installer.Files;

/// <summary>
/// Brings files to the state the runtimes want and back: records each original in the state store before the first
/// write, and restores every byte, mode and created directory on uninstall. With dry-run it only prints the diffs.
/// </summary>
internal sealed class FileTransaction
{
    private readonly HostFiles _files;
    private readonly StateStore _store;
    private readonly TextWriter _output;
    private readonly bool _dryRun;

    public FileTransaction(HostFiles files, StateStore store, TextWriter output, bool dryRun)
    {
        _files = files;
        _store = store;
        _output = output;
        _dryRun = dryRun;
    }

    /// <summary>Writes every edit whose content differs from the file on disk; returns how many files changed.</summary>
    public int Install(InstallState? state, IReadOnlyList<FileEdit> edits)
    {
        var changes = edits.Where(e => !SameBytes(_files.Read(e.HostPath), e.Content)).ToList();
        if (_dryRun)
        {
            foreach (var change in changes)
            {
                _output.Write(change.Summary is { } summary
                    ? Summarized(change.HostPath, _files.Read(change.HostPath) is not null, summary)
                    : UnifiedDiff.Format(change.HostPath, _files.Read(change.HostPath), change.Content));
            }

            return changes.Count;
        }

        if (changes.Count == 0)
        {
            return 0;
        }

        var before = state is null ? null : StateStore.Serialize(state);
        state ??= new InstallState();

        // Originals and the manifest go to disk before any runtime file changes, so a failure half-way leaves
        // something uninstall can undo.
        try
        {
            Record(state, changes);
        }
        catch (InstallerException)
        {
            // Keep what was recorded (backups written, directories created) so uninstall can still undo it.
            if (state.Files.Count > 0 || state.CreatedDirectories.Count > 0 || state.StateDirectories.Count > 0)
            {
                SaveBestEffort(state);
            }

            throw;
        }

        var after = StateStore.Serialize(state);
        if (before is null || !before.AsSpan().SequenceEqual(after))
        {
            _files.EnsureDirectory(_store.StateDir, state.StateDirectories);
            _files.Write(_store.ManifestHostPath, StateStore.Serialize(state), FileEdit.DefaultMode);
        }

        foreach (var change in changes)
        {
            var mode = _files.Mode(change.HostPath) ?? change.Mode;
            if (change.Block is not null)
            {
                _files.WriteInPlace(change.HostPath, change.Content!, mode);
            }
            else
            {
                _files.Write(change.HostPath, change.Content!, mode);
            }

            _output.WriteLine($"wrote {change.HostPath}");
        }

        return changes.Count;
    }

    private void Record(InstallState state, List<FileEdit> changes)
    {
        foreach (var change in changes)
        {
            if (state.Find(change.HostPath) is not null)
            {
                continue;
            }

            var original = _files.Read(change.HostPath);
            var entry = new ManagedFile { Path = change.HostPath, HasBackup = original is not null, BlockBegin = change.Block?.Begin, BlockEnd = change.Block?.End };
            if (original is not null)
            {
                var mode = _files.Mode(change.HostPath)!.Value;
                entry.Mode = (int)mode;
                var backup = _store.BackupHostPath(change.HostPath);
                _files.EnsureDirectory(Path.GetDirectoryName(backup)!, state.StateDirectories);
                _files.Write(backup, original, mode);
            }

            _files.EnsureDirectory(Path.GetDirectoryName(change.HostPath)!, state.CreatedDirectories);
            state.Files.Add(entry);
        }
    }

    private void SaveBestEffort(InstallState state)
    {
        try
        {
            _files.EnsureDirectory(_store.StateDir, state.StateDirectories);
            _files.Write(_store.ManifestHostPath, StateStore.Serialize(state), FileEdit.DefaultMode);
        }
        catch (InstallerException e)
        {
            _output.WriteLine($"warning: could not record the partial install in {_store.ManifestHostPath}: {e.Message}");
        }
    }

    /// <summary>Restores every file the state lists, removes what install created and then the state itself.</summary>
    public void Uninstall(InstallState state)
    {
        for (var i = state.Files.Count - 1; i >= 0; i--)
        {
            var entry = state.Files[i];
            var original = entry.HasBackup ? _files.Read(_store.BackupHostPath(entry.Path)) : null;
            if (entry.HasBackup && original is null)
            {
                throw new InstallerException($"the backup of {entry.Path} ({_store.BackupHostPath(entry.Path)}) is missing; nothing was restored");
            }

            var current = _files.Read(entry.Path);
            if (entry.Block is { } block)
            {
                UninstallBlock(entry, block, current, original);
                continue;
            }

            if (SameBytes(current, original) && (original is null || _files.Mode(entry.Path) == (UnixFileMode)entry.Mode))
            {
                continue;
            }

            if (_dryRun)
            {
                _output.Write(UnifiedDiff.Format(entry.Path, current, original));
                continue;
            }

            if (original is null)
            {
                _files.Delete(entry.Path);
                _output.WriteLine($"removed {entry.Path}");
            }
            else
            {
                _files.Write(entry.Path, original, (UnixFileMode)entry.Mode);
                _output.WriteLine($"restored {entry.Path}");
            }
        }

        if (_dryRun)
        {
            return;
        }

        RemoveDirectories(state.CreatedDirectories);
        foreach (var entry in state.Files.Where(f => f.HasBackup))
        {
            _files.Delete(_store.BackupHostPath(entry.Path));
        }

        _files.Delete(_store.ManifestHostPath);

        // Both lists again: a directory install created for a runtime file may be a parent of the state directory.
        RemoveDirectories([.. state.StateDirectories, .. state.CreatedDirectories]);
    }

    // Removes only the installer's block from the file as it is now, so lines others added since (a kubelet, the user)
    // stay; after an install and nothing else, that is the original byte for byte.
    private void UninstallBlock(ManagedFile entry, MarkedBlock block, byte[]? current, byte[]? original)
    {
        if (current is null)
        {
            return;
        }

        var text = Encoding.UTF8.GetString(current);
        var remaining = block.Without(text);
        if (remaining == text)
        {
            return;
        }

        // The block was appended after a newline install added to an unterminated last line: take that back too.
        if (original is not null && Encoding.UTF8.GetString(original) is var before && remaining == before + "\n")
        {
            remaining = before;
        }

        var content = Encoding.UTF8.GetBytes(remaining);
        if (_dryRun)
        {
            _output.Write(UnifiedDiff.Format(entry.Path, current, original is null && content.Length == 0 ? null : content));
            return;
        }

        if (original is null && content.Length == 0)
        {
            _files.Delete(entry.Path);
            _output.WriteLine($"removed {entry.Path}");
        }
        else
        {
            _files.WriteInPlace(entry.Path, content, _files.Mode(entry.Path) ?? (UnixFileMode)entry.Mode);
            _output.WriteLine($"removed the PeerAgent block from {entry.Path}");
        }
    }

    private static string Summarized(string hostPath, bool exists, string summary) =>
        $"--- {(exists ? "a" + hostPath : "/dev/null")}\n+++ b{hostPath}\n({summary})\n";

    private void RemoveDirectories(List<string> directories)
    {
        foreach (var dir in directories.OrderByDescending(d => d.Length))
        {
            _files.DeleteIfEmpty(dir);
        }
    }

    private static bool SameBytes(byte[]? a, byte[]? b) =>
        a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
