namespace PeerAgent.Installer.Files;

/// <summary>One file the installer wants in a given state: <see cref="Content"/> null means "absent".</summary>
/// <param name="HostPath">The path as the runtime sees it.</param>
/// <param name="Content">The bytes the file should hold, or null for no file.</param>
/// <param name="Mode">The mode of a file that must be created.</param>
internal sealed record FileEdit(string HostPath, byte[]? Content, UnixFileMode Mode = FileEdit.DefaultMode)
{
    public const UnixFileMode DefaultMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Owner read and write only: private keys.</summary>
    public const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// What <c>--dry-run</c> prints instead of a diff, e.g. "new certificate": for keys, which must never be printed,
    /// and certificates, whose base64 says nothing to a reader. Null prints the diff.
    /// </summary>
    public string? Summary { get; init; }

    /// <summary>
    /// Set for a shared file the installer owns only a marked block of (<c>/etc/hosts</c>): it is written in place,
    /// and uninstall removes the block from the file as it is then, instead of restoring the original.
    /// </summary>
    public MarkedBlock? Block { get; init; }
}
