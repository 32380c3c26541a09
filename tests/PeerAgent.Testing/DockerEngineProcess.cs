using System.Text.Json;

namespace PeerAgent.Testing;

/// <summary>
/// A real Docker Engine (Debian's dockerd 20.10, run as root) with its own data root, exec root, socket, pid file and
/// config file under a temp dir, and no networking of its own (<c>--iptables=false --bridge=none</c>), so it can pull
/// without touching the machine's docker state.
/// </summary>
/// <remarks>
/// What it still shares with the machine, by design of dockerd (it writes nothing there): <c>/etc/hosts</c> (name resolution) and
/// <c>/etc/docker/certs.d</c> (registry CAs; there is no flag to move it). dockerd treats a registry whose name
/// resolves to a loopback address as insecure (127.0.0.0/8 is always in its insecure CIDRs): it still speaks TLS first,
/// without verifying the certificate, and then tries plain HTTP on port 80. The vfs storage driver is used so that a
/// pull mounts nothing (overlay on an overlay /tmp fails in CI containers).
/// </remarks>
public sealed class DockerEngineProcess : IDisposable
{
    public const string DaemonPath = "/usr/sbin/dockerd";
    public const string CliPath = "/usr/bin/docker";

    private readonly TempDir _dir;
    private TestProcess? _process;

    private DockerEngineProcess(TempDir dir) => _dir = dir;

    /// <summary>"unix:///tmp/.../d.sock", for <c>docker -H</c>.</summary>
    public string Host => "unix://" + _dir.File("d.sock");

    public string DataRoot => _dir.File("data");

    public TestProcess Process => _process ?? throw new InvalidOperationException("Not started.");

    public static bool IsInstalled => File.Exists(DaemonPath) && File.Exists(CliPath);

    /// <summary>Starts dockerd and waits until <c>docker version</c> answers.</summary>
    public static async Task<DockerEngineProcess> StartAsync()
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException($"Docker Engine is not installed ({DaemonPath}, {CliPath}): run scripts/install-deps.sh.");
        }

        var engine = new DockerEngineProcess(new TempDir("dkr"));
        try
        {
            await engine.StartCoreAsync();
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Runs a docker CLI command against this engine, with a client config dir of its own (nothing in ~/.docker).</summary>
    public Task<ProcessResult> CliAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, bool check = true) =>
        ProcessRunner.RunAsync(CliPath, ["--config", _dir.Sub("client"), "-H", Host, .. arguments], timeout ?? TimeSpan.FromMinutes(3), check);

    public Task<ProcessResult> PullAsync(string reference, bool check = true) => CliAsync(["pull", reference], check: check);

    public void Dispose()
    {
        if (_process is not null)
        {
            // SIGTERM first so dockerd stops the containerd it started; Dispose then kills whatever is left, tree and all.
            if (!_process.HasExited)
            {
                _process.Signal(15);
                _process.WaitForExitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
            }

            _process.Dispose();
        }

        UnmountLeftovers();
        _dir.Dispose();
    }

    private async Task StartCoreAsync()
    {
        var config = _dir.File("daemon.json");
        // dockerd 20.10 otherwise creates /etc/docker/key.json (its trust key), whatever --config-file says; the key
        // has no command-line flag.
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, string> { ["deprecated-key-path"] = _dir.File("key.json") }));
        _process = TestProcess.Start(
            DaemonPath,
            [
                "--data-root", DataRoot,
                "--exec-root", _dir.File("exec"),
                "-H", Host,
                "--pidfile", _dir.File("dockerd.pid"),
                "--config-file", config,
                "--iptables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ],
            new TestProcessOptions { Name = "dockerd" });
        await Wait.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"dockerd exited with {_process.ExitCode}:\n{_process.Output}");
                }

                if (!File.Exists(_dir.File("d.sock")))
                {
                    return false;
                }

                return (await CliAsync(["version"], TimeSpan.FromSeconds(10), check: false)).Succeeded;
            },
            TimeSpan.FromSeconds(60),
            "dockerd answers `docker version`");
    }

    private void UnmountLeftovers()
    {
        // vfs mounts nothing, but dockerd may leave its own bind mounts (netns, plugins) under the exec root if killed.
        try
        {
            var mounts = File.ReadLines("/proc/self/mounts").Select(line => line.Split(' ')[1]).Where(m => m.StartsWith(_dir.Path, StringComparison.Ordinal));
            foreach (var mountPoint in mounts.OrderByDescending(m => m.Length).ToList())
            {
                using var umount = System.Diagnostics.Process.Start("umount", ["-l", mountPoint]);
                umount?.WaitForExit(5_000);
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
