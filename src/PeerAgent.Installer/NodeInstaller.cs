using PeerAgent.Installer.Files;
using PeerAgent.Installer.Runtimes;
using PeerAgent.Installer.State;

namespace PeerAgent.Installer;

/// <summary>Runs one command against the node: picks the runtime, plans its files and applies, restores or reports them.</summary>
internal sealed class NodeInstaller
{
    private readonly InstallerSettings _settings;
    private readonly TextWriter _output;
    private readonly HostFiles _files;
    private readonly StateStore _store;

    public NodeInstaller(InstallerSettings settings, TextWriter output)
    {
        _settings = settings;
        _output = output;
        _files = new HostFiles(settings.Root);
        _store = new StateStore(settings.Root, settings.StateDir);
    }

    public int Install()
    {
        var runtime = Runtime();
        var state = _store.Load();
        var edits = runtime.PlanInstall(state);
        var changed = new FileTransaction(_files, _store, _output, _settings.DryRun).Install(state, edits);
        if (_settings.DryRun)
        {
            _output.WriteLine(changed == 0
                ? $"{runtime.Name}: nothing to change (dry run)"
                : $"{runtime.Name}: {changed} file(s) would change (dry run; originals would be kept in {_settings.StateDir})");
            return ExitCodes.Success;
        }

        _output.WriteLine(changed == 0
            ? $"{runtime.Name}: already configured, nothing changed"
            : $"{runtime.Name}: {changed} file(s) written; originals kept in {_settings.StateDir}");
        if (changed > 0 && runtime.AfterInstall is { } note)
        {
            _output.WriteLine(note);
        }

        return ExitCodes.Success;
    }

    public int Uninstall()
    {
        var state = _store.Load();
        if (state is null)
        {
            _output.WriteLine($"nothing to uninstall: no {_store.ManifestHostPath}");
            return ExitCodes.Success;
        }

        new FileTransaction(_files, _store, _output, _settings.DryRun).Uninstall(state);
        _output.WriteLine(_settings.DryRun ? "uninstall: dry run, nothing changed" : "uninstall: every file the installer touched is back as it was");
        return ExitCodes.Success;
    }

    public int Status()
    {
        // The runtime install would pick, so that status answers "did install work here".
        return Runtime().Status(_output) ? ExitCodes.Success : ExitCodes.Failure;
    }

    private IRuntimeConfigurator Runtime()
    {
        if (_settings.Runtime != RuntimeKind.Auto)
        {
            return Create(_settings.Runtime);
        }

        // One runtime per run: containerd wins when both are present (podman's /etc/containers often sits beside it).
        // Docker Engine is never picked: /etc/docker also exists for the registry package and on nodes where Docker
        // only sits beside containerd, and its endpoint must be switched on in the agent (DockerMirror:Enabled).
        return Detected().FirstOrDefault() ?? throw new InstallerException(NoRuntimeMessage());
    }

    private List<IRuntimeConfigurator> Detected()
    {
        var found = new List<IRuntimeConfigurator>();
        if (_files.DirectoryExists("/etc/containerd"))
        {
            found.Add(Create(RuntimeKind.Containerd));
        }

        if (_files.DirectoryExists("/etc/crio") || _files.DirectoryExists("/etc/containers"))
        {
            found.Add(Create(RuntimeKind.Crio));
        }

        return found;
    }

    private string NoRuntimeMessage() =>
        $"no container runtime found under {_settings.Root.Path}: looked for /etc/containerd (containerd), /etc/crio and /etc/containers (CRI-O, podman). Pass --runtime containerd|crio|docker (docker is never picked by auto), or --root for the host's filesystem.";

    private IRuntimeConfigurator Create(RuntimeKind kind) => kind switch
    {
        RuntimeKind.Containerd => new ContainerdConfigurator(_settings, _files, _store),
        RuntimeKind.Crio => new CrioConfigurator(_settings, _files),
        RuntimeKind.Docker => new DockerConfigurator(_settings, _files),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
