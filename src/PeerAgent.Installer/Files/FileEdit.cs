namespace PeerAgent.Installer.Files;

/// <summary>One file the installer wants in a given state: <see cref="Content"/> null means "absent".</summary>
/// <param name="HostPath">The path as the runtime sees it.</param>
/// <param name="Content">The bytes the file should hold, or null for no file.</param>
/// <param name="Mode">The mode of a file that must be created.</param>
internal sealed record FileEdit(string HostPath, byte[]? Content, UnixFileMode Mode = FileEdit.DefaultMode)
{
    public const UnixFileMode DefaultMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
}
