using System.Globalization;

namespace PeerAgent.Testing;

/// <summary>
/// A real containerd (run as root) with its own config, root, state and sockets under a temp dir, so each test
/// can pull into a fresh content store.
/// </summary>
/// <remarks>
/// containerd 1.6.20 (Debian) quirks seen here:
/// <list type="bullet">
/// <item>The hosts dir entry for a registry with a port is named with the colon, e.g. <c>HOSTSDIR/127.0.0.1:5000/hosts.toml</c>.</item>
/// <item>Through a mirror it sends <c>HEAD /v2/REPO/manifests/TAG?ns=127.0.0.1%3A5000</c>, then
/// <c>GET .../manifests/sha256:...?ns=...</c> and <c>GET .../blobs/sha256:...?ns=...</c>.</item>
/// <item>When the mirror fails it silently falls back to the <c>server</c>, so a successful pull proves nothing by itself.</item>
/// <item>The native snapshotter is used for unpacking: overlayfs on an overlayfs /tmp (CI containers) fails.</item>
/// </list>
/// </remarks>
public sealed class ContainerdProcess : IAsyncDisposable, IDisposable
{
    // Plugins that only slow start-up or write outside our temp dir (opt writes /opt/containerd).
    private static readonly string[] DisabledPlugins =
    [
        "io.containerd.grpc.v1.cri",
        "io.containerd.snapshotter.v1.aufs",
        "io.containerd.snapshotter.v1.btrfs",
        "io.containerd.snapshotter.v1.devmapper",
        "io.containerd.snapshotter.v1.zfs",
        "io.containerd.internal.v1.opt",
        "io.containerd.tracing.processor.v1.otlp",
        "io.containerd.internal.v1.tracing",
    ];

    private readonly TempDir _dir;
    private TestProcess? _process;

    private ContainerdProcess(TempDir dir)
    {
        _dir = dir;
    }

    public string Address => Path.Combine(_dir.Path, "c.sock");

    public string RootDirectory => Path.Combine(_dir.Path, "root");

    public string Snapshotter { get; init; } = "native";

    /// <summary>Where containerd keeps a blob it has ingested (it checks the digest before committing it there).</summary>
    public string ContentBlobPath(string digest) =>
        Path.Combine(RootDirectory, "io.containerd.content.v1.content", "blobs", "sha256", digest["sha256:".Length..]);

    public TestProcess Process => _process ?? throw new InvalidOperationException("Not started.");

    public static async Task<ContainerdProcess> StartAsync()
    {
        var dir = new TempDir("ctd");
        var containerd = new ContainerdProcess(dir);
        try
        {
            await containerd.StartCoreAsync();
            return containerd;
        }
        catch
        {
            containerd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes HOSTSDIR/UPSTREAMHOST/hosts.toml sending pulls for <paramref name="upstreamHost"/> ("127.0.0.1:PORT")
    /// to <paramref name="mirrorUrl"/> ("http://127.0.0.1:AGENTPORT") first.
    /// </summary>
    public static string WriteHostsToml(string hostsDir, string upstreamHost, string mirrorUrl)
    {
        var dir = Directory.CreateDirectory(Path.Combine(hostsDir, upstreamHost)).FullName;
        var path = Path.Combine(dir, "hosts.toml");
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $"""
            server = "http://{upstreamHost}"

            [host."{mirrorUrl.TrimEnd('/')}"]
              capabilities = ["pull", "resolve"]

            """));
        return path;
    }

    /// <summary>Runs <c>ctr images pull</c>; throws with the output when it fails.</summary>
    public Task<ProcessResult> PullAsync(string imageRef, string hostsDir, bool plainHttp = true, string? user = null, bool check = true, TimeSpan? timeout = null)
    {
        var args = new List<string> { "--address", Address, "images", "pull", "--hosts-dir", hostsDir, "--snapshotter", Snapshotter };
        if (plainHttp)
        {
            args.Add("--plain-http");
        }

        if (user is not null)
        {
            args.Add("--user");
            args.Add(user);
        }

        args.Add(imageRef);
        return ProcessRunner.RunAsync("ctr", args, timeout ?? TimeSpan.FromMinutes(3), check);
    }

    /// <summary>Runs any ctr subcommand against this containerd.</summary>
    public Task<ProcessResult> CtrAsync(params string[] args) =>
        ProcessRunner.RunAsync("ctr", ["--address", Address, .. args], TimeSpan.FromMinutes(1));

    public void Dispose()
    {
        _process?.Dispose();
        TryUnmountLeftovers();
        _dir.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task StartCoreAsync()
    {
        var configPath = _dir.File("config.toml");
        var disabled = string.Join(", ", DisabledPlugins.Select(p => $"\"{p}\""));
        await File.WriteAllTextAsync(configPath, $"""
            version = 2
            root = "{RootDirectory}"
            state = "{Path.Combine(_dir.Path, "state")}"
            disabled_plugins = [{disabled}]

            [grpc]
              address = "{Address}"

            [ttrpc]
              address = "{Path.Combine(_dir.Path, "c.ttrpc.sock")}"

            [debug]
              address = "{Path.Combine(_dir.Path, "debug.sock")}"
              level = "info"

            [metrics]
              address = ""

            """);
        _process = TestProcess.Start("containerd", ["--config", configPath], new TestProcessOptions { Name = "containerd" });
        await Wait.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"containerd exited with {_process.ExitCode}:\n{_process.Output}");
                }

                var version = await ProcessRunner.RunAsync("ctr", ["--address", Address, "version"], TimeSpan.FromSeconds(10), check: false);
                return version.Succeeded;
            },
            TimeSpan.FromSeconds(30),
            "containerd answers `ctr version`");
    }

    private void TryUnmountLeftovers()
    {
        // A pull killed mid-unpack can leave a temp mount under root; unmount so the dir can be deleted.
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mounts"))
            {
                var mountPoint = line.Split(' ')[1];
                if (mountPoint.StartsWith(_dir.Path, StringComparison.Ordinal))
                {
                    using var umount = System.Diagnostics.Process.Start("umount", ["-l", mountPoint]);
                    umount?.WaitForExit(5_000);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }
}
