using PeerAgent.Installer.Files;
using PeerAgent.Installer.State;

namespace PeerAgent.Installer.Runtimes;

/// <summary>containerd: one <c>certs.d/&lt;host&gt;/hosts.toml</c> per registry, and config_path checked (or set, on request).</summary>
internal sealed class ContainerdConfigurator : IRuntimeConfigurator
{
    private readonly InstallerSettings _settings;
    private readonly HostFiles _files;
    private readonly StateStore _store;

    public ContainerdConfigurator(InstallerSettings settings, HostFiles files, StateStore store)
    {
        _settings = settings;
        _files = files;
        _store = store;
    }

    public string Name => "containerd";

    public string? AfterInstall { get; private set; }

    public IReadOnlyList<FileEdit> PlanInstall(InstallState? state)
    {
        var edits = new List<FileEdit>();
        var configText = Text(_files.Read(_settings.ContainerdConfig));
        var config = ContainerdConfig.Parse(configText, _settings.ContainerdConfig);
        if (!config.Covers(_settings.CertsDir))
        {
            if (config.ConfigPath is not null)
            {
                throw new InstallerException(
                    $"containerd reads hosts.toml from config_path = {TomlText.Quote(config.ConfigPath)} in {_settings.ContainerdConfig}, not from {_settings.CertsDir}.\n" +
                    $"Run again with --certs-dir {config.ConfigPath.Split(':')[0]}, or change config_path yourself (the installer does not drop your directory).");
            }

            if (!_settings.EditContainerdConfig)
            {
                throw new InstallerException(
                    $"containerd does not read {_settings.CertsDir}: {_settings.ContainerdConfig} {(config.Exists ? "sets no config_path" : "does not exist")}. Add these lines to it:\n\n" +
                    config.LinesToAdd(_settings.CertsDir) +
                    "\nthen restart containerd, or run again with --edit-containerd-config to have the installer add them (it never restarts containerd).");
            }

            var edited = config.WithConfigPath(configText, _settings.CertsDir, _settings.ContainerdConfig)
                ?? throw new InstallerException(
                    $"cannot add config_path to {_settings.ContainerdConfig} safely (its registry section is written in a form the installer does not edit). Add it by hand:\n\n" +
                    config.LinesToAdd(_settings.CertsDir));
            edits.Add(new FileEdit(_settings.ContainerdConfig, FileTransaction.Utf8(edited)));
            AfterInstall = $"{_settings.ContainerdConfig} now sets config_path: restart containerd (systemctl restart containerd) for it to take effect; the installer never restarts it.";
        }

        foreach (var registry in _settings.Registries)
        {
            var hostPath = HostsTomlPath(registry);
            var original = Text(_store.ReadOriginal(state, hostPath));
            var content = HostsToml.Render(registry, _settings.MirrorOrigin, original, hostPath);
            edits.Add(new FileEdit(hostPath, FileTransaction.Utf8(content)));
        }

        return edits;
    }

    public bool Status(TextWriter output)
    {
        var ok = true;
        var config = ContainerdConfig.Parse(Text(_files.Read(_settings.ContainerdConfig)), _settings.ContainerdConfig);
        var covers = config.Covers(_settings.CertsDir);
        ok &= covers;
        output.WriteLine(
            $"containerd: {_settings.ContainerdConfig} (version {config.Version}{(config.Exists ? "" : ", missing")}) config_path = " +
            $"{(config.ConfigPath is null ? "(unset)" : TomlText.Quote(config.ConfigPath))}: {(covers ? "covers" : "does NOT cover")} {_settings.CertsDir}");

        var registries = _settings.Registries.Count > 0 ? _settings.Registries : ConfiguredHosts();
        if (registries.Count == 0)
        {
            output.WriteLine($"  no registry directories with a hosts.toml in {_settings.CertsDir}");
            return false;
        }

        foreach (var registry in registries)
        {
            var hostPath = HostsTomlPath(registry);
            var content = Text(_files.Read(hostPath));
            string verdict;
            if (content is null)
            {
                verdict = "not configured (no hosts.toml)";
                ok = false;
            }
            else
            {
                try
                {
                    var model = TomlText.Parse(content, hostPath);
                    var first = HostsToml.AgentFirst(model, _settings.MirrorOrigin);
                    ok &= first;
                    verdict = first ? $"agent {_settings.MirrorOrigin} first" : $"agent {_settings.MirrorOrigin} NOT first (first host: {HostsToml.FirstHost(model) ?? "none"})";
                }
                catch (InstallerException e)
                {
                    verdict = e.Message;
                    ok = false;
                }
            }

            output.WriteLine($"  {registry}: {verdict}{(covers ? "" : ", but containerd does not read it")}");
        }

        return ok;
    }

    private string HostsTomlPath(string registry) => Path.Join(_settings.CertsDir, registry, "hosts.toml");

    private List<string> ConfiguredHosts()
    {
        var dir = _files.Root.Resolve(_settings.CertsDir);
        return Directory.Exists(dir)
            ? Directory.EnumerateDirectories(dir).Where(d => File.Exists(Path.Join(d, "hosts.toml"))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
    }

    private static string? Text(byte[]? content) => content is null ? null : TomlText.Utf8(content);
}
