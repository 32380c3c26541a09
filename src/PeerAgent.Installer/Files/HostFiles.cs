namespace PeerAgent.Installer.Files;

/// <summary>File operations under a <see cref="HostRoot"/> that turn I/O failures into messages naming the host path.</summary>
internal sealed class HostFiles
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public HostFiles(HostRoot root) => Root = root;

    public HostRoot Root { get; }

    public byte[]? Read(string hostPath)
    {
        var path = Root.Resolve(hostPath);
        return Guard(hostPath, "read", () => File.Exists(path) ? File.ReadAllBytes(path) : null);
    }

    public UnixFileMode? Mode(string hostPath)
    {
        var path = Root.Resolve(hostPath);
        return File.Exists(path) ? File.GetUnixFileMode(path) : null;
    }

    public bool DirectoryExists(string hostPath) => Directory.Exists(Root.Resolve(hostPath));

    /// <summary>Creates <paramref name="hostDir"/> and its missing parents, adding each one it created to <paramref name="created"/>, parents first.</summary>
    public void EnsureDirectory(string hostDir, List<string> created)
    {
        var missing = new Stack<string>();
        for (var dir = hostDir; dir is not null && !Directory.Exists(Root.Resolve(dir)); dir = Path.GetDirectoryName(dir))
        {
            missing.Push(dir);
        }

        while (missing.TryPop(out var dir))
        {
            Guard(dir, "create directory", () =>
            {
                Directory.CreateDirectory(Root.Resolve(dir), DirectoryMode);
                return 0;
            });
            created.Add(dir);
        }
    }

    /// <summary>Replaces the file's bytes through a temporary file and a rename, so the runtime never reads half a file.</summary>
    public void Write(string hostPath, byte[] content, UnixFileMode mode)
    {
        var path = Root.Resolve(hostPath);
        var temp = path + ".peeragent-tmp";
        Guard(hostPath, "write", () =>
        {
            try
            {
                // Created with its final mode, so a private key is never readable by others, not even for a moment.
                File.Delete(temp);
                using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
                {
                    stream.Write(content);
                }

                File.SetUnixFileMode(temp, mode);
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }

            return 0;
        });
    }

    /// <summary>
    /// Overwrites the file's bytes where it is, for files that cannot be replaced by a rename: <c>/etc/hosts</c> is
    /// often a bind mount in a container (rename over it fails with EBUSY). A new file is created with <paramref name="mode"/>.
    /// </summary>
    public void WriteInPlace(string hostPath, byte[] content, UnixFileMode mode)
    {
        var path = Root.Resolve(hostPath);
        Guard(hostPath, "write", () =>
        {
            var created = !File.Exists(path);
            using (var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                stream.Write(content);
                stream.SetLength(content.Length);
                stream.Flush(flushToDisk: true);
            }

            if (created)
            {
                File.SetUnixFileMode(path, mode);
            }

            return 0;
        });
    }

    public void Delete(string hostPath) => Guard(hostPath, "delete", () =>
    {
        File.Delete(Root.Resolve(hostPath));
        return 0;
    });

    /// <summary>Removes the directory if it exists and is empty; a directory the user has since put files in stays.</summary>
    public void DeleteIfEmpty(string hostDir)
    {
        var path = Root.Resolve(hostDir);
        if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
        {
            Guard(hostDir, "remove directory", () =>
            {
                Directory.Delete(path);
                return 0;
            });
        }
    }

    private T Guard<T>(string hostPath, string verb, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var where = Root.Path == "/" ? "" : $" (under root {Root.Path})";
            throw new InstallerException($"cannot {verb} {hostPath}{where}: {e.Message}", e);
        }
    }
}
