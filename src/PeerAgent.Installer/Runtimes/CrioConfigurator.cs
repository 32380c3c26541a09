using System.Text;
using PeerAgent.Installer.Files;
using PeerAgent.Installer.State;
using Tomlyn.Model;

namespace PeerAgent.Installer.Runtimes;

/// <summary>
/// CRI-O and podman (containers-image): one drop-in in <c>registries.conf.d</c> with a mirror entry per registry.
/// <c>registries.conf</c> itself is never touched; drop-ins are always read, so there is nothing like config_path to check.
/// </summary>
internal sealed class CrioConfigurator : IRuntimeConfigurator
{
    public const string DropInName = "50-peeragent.conf";

    private readonly InstallerSettings _settings;
    private readonly HostFiles _files;

    public CrioConfigurator(InstallerSettings settings, HostFiles files)
    {
        _settings = settings;
        _files = files;
    }

    public string Name => "crio";

    public string? AfterInstall => "podman reads registries.conf.d on every run; CRI-O on start or on SIGHUP: reload it (systemctl reload crio). The installer never reloads or restarts it.";

    private string DropInPath => Path.Join(_settings.RegistriesConfDir, DropInName);

    /// <summary>Checks that every registry can be written as a containers-image mirror (no <c>_default</c>, no port).</summary>
    public static void Validate(IReadOnlyList<string> registries)
    {
        foreach (var registry in registries)
        {
            if (registry == InstallerSettings.AllRegistries)
            {
                throw new InstallerException(
                    "--registry _default cannot be expressed for CRI-O/podman: registries.conf has no catch-all mirror. Name each registry (--registry docker.io --registry ghcr.io ...).",
                    ExitCodes.Usage);
            }

            if (registry.Contains(':', StringComparison.Ordinal))
            {
                throw new InstallerException(
                    $"--registry {registry}: CRI-O/podman mirror locations name the registry in the path, which cannot hold a port; use the agent's Mirror:DefaultRegistry for a registry with a port.",
                    ExitCodes.Usage);
            }
        }
    }

    public IReadOnlyList<FileEdit> PlanInstall(InstallState? state)
    {
        Validate(_settings.Registries);
        var registries = new List<string>(RegistriesIn(_files.Read(DropInPath)));
        foreach (var registry in _settings.Registries)
        {
            if (!registries.Contains(registry))
            {
                registries.Add(registry);
            }
        }

        return [new FileEdit(DropInPath, FileTransaction.Utf8(Render(registries)))];
    }

    public bool Status(TextWriter output)
    {
        var configured = RegistriesIn(_files.Read(DropInPath));
        output.WriteLine($"crio/podman: {DropInPath}: {(configured.Count > 0 ? "present" : "missing")} (registries.conf.d is always read)");
        var registries = _settings.Registries.Count > 0 ? _settings.Registries : configured;
        var ok = registries.Count > 0;
        foreach (var registry in registries)
        {
            var has = configured.Contains(registry);
            ok &= has;
            output.WriteLine($"  {registry}: {(has ? $"agent {MirrorLocation(registry)} first" : "not configured")}");
        }

        return ok;
    }

    private string MirrorLocation(string registry) => $"{_settings.MirrorUrl.Authority}/{registry}";

    private string Render(List<string> registries)
    {
        var text = new StringBuilder("# PeerAgent: the node's agent as the first mirror of each registry; written by PeerAgent.Installer ('uninstall' removes it).\n");
        var insecure = _settings.MirrorUrl.Scheme == Uri.UriSchemeHttp ? "true" : "false";
        foreach (var registry in registries)
        {
            text.Append("\n[[registry]]\nlocation = ").Append(TomlText.Quote(registry)).Append('\n')
                .Append("\n[[registry.mirror]]\nlocation = ").Append(TomlText.Quote(MirrorLocation(registry))).Append('\n')
                .Append("insecure = ").Append(insecure).Append('\n');
        }

        return text.ToString();
    }

    // The registries our drop-in lists whose first mirror is the agent.
    private List<string> RegistriesIn(byte[]? content)
    {
        var result = new List<string>();
        if (content is null)
        {
            return result;
        }

        var model = TomlText.Parse(TomlText.Utf8(content), DropInPath);
        if (model.TryGetValue("registry", out var value) && value is TomlTableArray entries)
        {
            foreach (var entry in entries)
            {
                if (entry.TryGetValue("location", out var location) && location is string host
                    && entry.TryGetValue("mirror", out var mirrors) && mirrors is TomlTableArray { Count: > 0 } list
                    && list[0].TryGetValue("location", out var first) && first is string mirror && mirror == MirrorLocation(host))
                {
                    result.Add(host);
                }
            }
        }

        return result;
    }
}
