namespace PeerAgent.Installer.Tests;

/// <summary>A node's filesystem in a temp dir, and the installer run against it.</summary>
internal sealed class NodeRoot : IDisposable
{
    public NodeRoot()
    {
        Path = Directory.CreateTempSubdirectory("peeragent-installer-").FullName;
    }

    public string Path { get; }

    public string Resolve(string hostPath) => System.IO.Path.Join(Path, hostPath);

    public void Write(string hostPath, string content, UnixFileMode? mode = null)
    {
        var path = Resolve(hostPath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        if (mode is { } m)
        {
            File.SetUnixFileMode(path, m);
        }
    }

    public string Read(string hostPath) => File.ReadAllText(Resolve(hostPath));

    public bool Exists(string hostPath) => File.Exists(Resolve(hostPath)) || Directory.Exists(Resolve(hostPath));

    /// <summary>containerd with a config that already reads /etc/containerd/certs.d.</summary>
    public void ContainerdWithConfigPath(int version = 2)
    {
        var table = version == 3 ? "[plugins.\"io.containerd.cri.v1.images\".registry]" : "[plugins.\"io.containerd.grpc.v1.cri\".registry]";
        Write("/etc/containerd/config.toml", $"version = {version}\n\n{table}\n  config_path = \"/etc/containerd/certs.d\"\n");
    }

    public InstallerResult Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = InstallerCli.Run([.. args, "--root", Path], output, error);
        return new InstallerResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Every file's bytes and every entry's mode under the root, keyed by path: what "exactly restored" means.</summary>
    public SortedDictionary<string, string> Snapshot()
    {
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories))
        {
            var relative = System.IO.Path.GetRelativePath(Path, entry);
            var mode = File.GetUnixFileMode(entry);
            snapshot[relative] = File.Exists(entry)
                ? $"file {mode} {Convert.ToBase64String(File.ReadAllBytes(entry))}"
                : $"dir {mode}";
        }

        return snapshot;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal sealed record InstallerResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
