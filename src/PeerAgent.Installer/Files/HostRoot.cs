namespace PeerAgent.Installer.Files;

/// <summary>The filesystem the installer works on: <c>/</c> on a node, the host's mount in an init container, a temp dir in tests.</summary>
internal sealed class HostRoot
{
    public HostRoot(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }

    /// <summary>Where the host path <paramref name="hostPath"/> (absolute, as the runtime sees it) is under this root.</summary>
    public string Resolve(string hostPath)
    {
        if (!System.IO.Path.IsPathRooted(hostPath))
        {
            throw new ArgumentException($"'{hostPath}' is not an absolute path", nameof(hostPath));
        }

        return Path == "/" ? hostPath : System.IO.Path.Join(Path, hostPath);
    }
}
