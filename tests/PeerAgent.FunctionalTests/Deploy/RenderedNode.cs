using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// One node of a rendered chart, run as processes on this machine instead of as a pod: the DaemonSet's installer init
/// containers with their exact arguments, and the agent container with its exact environment. No kubelet runs here,
/// so the test plays its part: <c>--root /host</c> becomes a temporary "node" directory, each volume mount becomes
/// the directory it would show (a hostPath under the node directory, a TLS Secret's files), the downward API fields
/// get fixed values, <c>$(VAR)</c> references are expanded, and the fixed ports 65001-65003 and 443 are moved to free
/// ports so runs cannot collide. Everything else is what the chart rendered.
/// </summary>
internal sealed partial class RenderedNode : IDisposable
{
    public const string NodeName = "node-1";
    private const string InstallerDll = "/app/installer/PeerAgent.Installer.dll";
    private const string HostMount = "/host";

    private readonly TempDir _node = new("node");
    private readonly TempDir _secrets = new("secrets");
    private readonly Dictionary<string, string> _ports;
    private readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> _userSecrets;

    /// <param name="objects">The rendered chart.</param>
    /// <param name="userSecrets">Secrets and ConfigMaps the user creates before installing (by name, then file name and content); every other Secret volume is the TLS Secret.</param>
    public RenderedNode(IReadOnlyList<KubeObject> objects, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? userSecrets = null)
    {
        _userSecrets = userSecrets ?? new Dictionary<string, IReadOnlyDictionary<string, string>>();
        Objects = objects;
        Agent = objects.Single(o => o.Kind == "DaemonSet" && !o.IsHook);
        Cleanup = objects.Single(o => o.Kind == "DaemonSet" && o.IsHook);
        MirrorPort = FreePort.Get();
        MetricsPort = FreePort.Get();
        PeerPort = FreePort.Get();
        DockerPort = FreePort.Get();
        _ports = new Dictionary<string, string>
        {
            [":65001"] = Port(MirrorPort),
            [":65002"] = Port(PeerPort),
            [":65003"] = Port(MetricsPort),
        };
    }

    public IReadOnlyList<KubeObject> Objects { get; }

    public KubeObject Agent { get; }

    public KubeObject Cleanup { get; }

    /// <summary>The node's filesystem root: what the init containers see at /host.</summary>
    public string Root => _node.Path;

    public int MirrorPort { get; }

    public int MetricsPort { get; }

    public int PeerPort { get; }

    public int DockerPort { get; }

    public string MetricsUrl => $"http://127.0.0.1:{MetricsPort}";

    /// <summary>The installer init containers of <paramref name="workload"/>, in order.</summary>
    public static IReadOnlyList<JsonObject> Installers(KubeObject workload) =>
        [.. Pods.Items(workload.PodSpec!["initContainers"]).Where(c => Pods.Strings(c["command"]).Contains(InstallerDll))];

    /// <summary>A path on the node, e.g. "/etc/containerd/config.toml", under <see cref="Root"/>.</summary>
    public string OnNode(string path) => Path.Join(Root, path);

    /// <summary>The host paths <paramref name="container"/> may write: its writable mounts under /host.</summary>
    public static IReadOnlyList<string> WritableHostPaths(JsonObject container) =>
        [.. Pods.Mounts(container)
            .Where(m => !((bool?)m["readOnly"] ?? false))
            .Select(m => (string)m["mountPath"]!)
            .Where(p => p.StartsWith(HostMount + "/", StringComparison.Ordinal))
            .Select(p => p[HostMount.Length..])];

    /// <summary>Runs an installer init container with its rendered arguments, rooted at the node directory.</summary>
    public Task<ProcessResult> RunInstallerAsync(JsonObject container)
    {
        var args = Pods.Args(container).ToList();
        var root = args.IndexOf("--root");
        if (root < 0 || args[root + 1] != HostMount)
        {
            throw new InvalidOperationException($"{container["name"]}: expected --root {HostMount} in [{string.Join(' ', args)}]");
        }

        args[root + 1] = Root;
        return ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.InstallerDll, .. args.Select(MovePorts)], TimeSpan.FromMinutes(1), check: false);
    }

    /// <summary>
    /// Starts the agent container as rendered. Its TLS Secret's files come from <paramref name="tls"/>; its scheduler
    /// address (the scheduler Service's DNS name) becomes <paramref name="schedulerAddress"/>.
    /// </summary>
    public TestProcess StartAgent(TlsFilePaths tls, string schedulerAddress)
    {
        var container = Pods.Container(Agent.PodSpec!, "agent");
        var mounts = MountDirectories(container, tls);
        var environment = LogEntries.DotnetEnvironment();
        foreach (var variable in Pods.Items(container["env"]))
        {
            var name = (string)variable["name"]!;
            var value = variable["valueFrom"]?["fieldRef"]?["fieldPath"]?.ToString() switch
            {
                "spec.nodeName" => NodeName,
                "status.hostIP" => "127.0.0.1",
                null => (string?)variable["value"] ?? "",
                var field => throw new InvalidOperationException($"env {name}: no value for fieldRef {field} in this test"),
            };
            value = Reference().Replace(value, m => environment.TryGetValue(m.Groups[1].Value, out var v) ? v ?? "" : m.Value);
            environment[name] = MovePaths(MovePorts(value), mounts);
        }

        if (environment.GetValueOrDefault("PEERAGENT_Scheduler__Address") is { Length: > 0 })
        {
            environment["PEERAGENT_Scheduler__Address"] = schedulerAddress;
        }

        if (environment.ContainsKey("PEERAGENT_DockerMirror__Port"))
        {
            environment["PEERAGENT_DockerMirror__Port"] = DockerPort.ToString(CultureInfo.InvariantCulture);
        }

        // The chart leaves these two at their defaults (every address, the fixed ports); here they move to free loopback ports.
        environment["PEERAGENT_Metrics__ListenUrl"] = MetricsUrl;
        environment["PEERAGENT_Peer__ListenUrl"] = $"https://127.0.0.1:{PeerPort}";
        return TestProcess.Start(
            RepoPaths.DotnetHost,
            [RepoPaths.AgentDll, .. Pods.Strings(container["args"])],
            new TestProcessOptions { Name = "agent (rendered)", WorkingDirectory = _secrets.Path, Environment = environment });
    }

    /// <summary>Every file under the node directory with its bytes, by path relative to it.</summary>
    public Dictionary<string, byte[]> Snapshot() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => "/" + Path.GetRelativePath(Root, f), File.ReadAllBytes);

    /// <summary>The paths whose bytes differ between two snapshots (added, removed or changed).</summary>
    public static IReadOnlyList<string> Changed(Dictionary<string, byte[]> before, Dictionary<string, byte[]> after) =>
        [.. before.Keys.Union(after.Keys)
            .Where(p => !before.TryGetValue(p, out var b) || !after.TryGetValue(p, out var a) || !a.AsSpan().SequenceEqual(b))
            .Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        _node.Dispose();
        _secrets.Dispose();
    }

    private static string Port(int port) => ":" + port.ToString(CultureInfo.InvariantCulture);

    private static string MovePaths(string value, Dictionary<string, string> mounts)
    {
        foreach (var (mountPath, directory) in mounts.OrderByDescending(m => m.Key.Length))
        {
            if (value == mountPath || value.StartsWith(mountPath + "/", StringComparison.Ordinal))
            {
                return directory + value[mountPath.Length..];
            }
        }

        return value;
    }

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();

    private string MovePorts(string value)
    {
        foreach (var (from, to) in _ports)
        {
            value = value.Replace(from, to, StringComparison.Ordinal);
        }

        return value;
    }

    /// <summary>What each of the container's mount paths shows: hostPath volumes under the node directory, Secrets as files.</summary>
    private Dictionary<string, string> MountDirectories(JsonObject container, TlsFilePaths tls)
    {
        var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var mount in Pods.Mounts(container))
        {
            var mountPath = (string)mount["mountPath"]!;
            var volume = Pods.Volume(Agent.PodSpec!, (string)mount["name"]!);
            if (volume["hostPath"]?["path"] is { } hostPath)
            {
                var directory = OnNode((string)hostPath!);
                Directory.CreateDirectory(directory);
                mounts[mountPath] = directory;
            }
            else if (volume["secret"] is not null || volume["projected"] is not null || volume["configMap"] is not null)
            {
                var directory = Directory.CreateDirectory(Path.Join(_secrets.Path, (string)mount["name"]!)).FullName;
                var source = (string?)volume["secret"]?["secretName"] ?? (string?)volume["configMap"]?["name"];
                var files = source is not null && _userSecrets.TryGetValue(source, out var user)
                    ? user
                    : new Dictionary<string, string>
                    {
                        ["ca.crt"] = File.ReadAllText(tls.CaFile),
                        ["tls.crt"] = File.ReadAllText(tls.CertFile),
                        ["tls.key"] = File.ReadAllText(tls.KeyFile),
                    };
                foreach (var (key, content) in files)
                {
                    File.WriteAllText(Path.Join(directory, key), content);
                }

                mounts[mountPath] = directory;
            }
            else
            {
                mounts[mountPath] = Directory.CreateDirectory(Path.Join(_secrets.Path, (string)mount["name"]!)).FullName;
            }
        }

        return mounts;
    }

    /// <summary>The TLS files of the chart's own generated Secret, when it rendered one.</summary>
    public TlsFilePaths? GeneratedTls()
    {
        var secret = Objects.SingleOrDefault(o => o.Kind == "Secret" && o.Json["data"]?["tls.key"] is not null);
        return secret is null ? null : WriteTlsSecret(secret, Directory.CreateDirectory(Path.Join(_secrets.Path, "generated")).FullName);
    }

    /// <summary>Writes a rendered TLS Secret's files (ca.crt, tls.crt, tls.key) into <paramref name="directory"/>, as its volume would show them.</summary>
    public static TlsFilePaths WriteTlsSecret(KubeObject secret, string directory)
    {
        foreach (var (key, value) in secret.Json["data"]!.AsObject())
        {
            var path = Path.Join(directory, key);
            File.WriteAllText(path, Encoding.ASCII.GetString(Convert.FromBase64String((string)value!)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return new TlsFilePaths(Path.Join(directory, "ca.crt"), Path.Join(directory, "tls.crt"), Path.Join(directory, "tls.key"));
    }
}
