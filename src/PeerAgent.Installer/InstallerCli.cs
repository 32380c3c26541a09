using System.CommandLine;
using System.Net;
using PeerAgent.Core.Oci;
using PeerAgent.Installer.Files;

namespace PeerAgent.Installer;

/// <summary>The command line: <c>install</c>, <c>uninstall</c> and <c>status</c>, their options, and exit codes 0, 1 and 2.</summary>
internal static class InstallerCli
{
    private static readonly Option<string> RootOption = new("--root")
    {
        Description = "Work on the filesystem mounted here (an init container's host mount); every path below is resolved under it.",
        DefaultValueFactory = _ => "/",
    };

    private static readonly Option<bool> DryRunOption = new("--dry-run")
    {
        Description = "Print a unified diff of every file that would change, and change nothing.",
    };

    private static readonly Option<string> RuntimeOption = new("--runtime")
    {
        Description = "containerd, crio (CRI-O and podman), docker (Docker Engine, through distribution domains) or auto: containerd if /etc/containerd exists, else crio if /etc/crio or /etc/containers does. auto never picks docker; run once more with --runtime docker for it.",
        DefaultValueFactory = _ => "auto",
    };

    private static readonly Option<string[]> RegistryOption = new("--registry")
    {
        Description = "A registry host to send through the agent (repeatable): docker.io, ghcr.io, registry.example:5000. _default stands for every registry (containerd), docker.io for Docker.",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<string> MirrorUrlOption = new("--mirror-url")
    {
        Description = "The agent's mirror as the runtime reaches it.",
        DefaultValueFactory = _ => InstallerSettings.DefaultMirrorUrl,
    };

    private static readonly Option<string> ContainerdConfigOption = new("--containerd-config")
    {
        Description = "containerd's configuration, read to check that config_path covers the certs dir.",
        DefaultValueFactory = _ => InstallerSettings.DefaultContainerdConfig,
    };

    private static readonly Option<string> CertsDirOption = new("--certs-dir")
    {
        Description = "The directory containerd reads <host>/hosts.toml from (its config_path).",
        DefaultValueFactory = _ => InstallerSettings.DefaultCertsDir,
    };

    private static readonly Option<string> RegistriesConfDirOption = new("--registries-conf-dir")
    {
        Description = "CRI-O/podman's drop-in directory; the installer writes 50-peeragent.conf there and never touches registries.conf.",
        DefaultValueFactory = _ => InstallerSettings.DefaultRegistriesConfDir,
    };

    private static readonly Option<string> StateDirOption = new("--state-dir")
    {
        Description = "Where the installer keeps the originals it replaced and the list of what it created, for uninstall.",
        DefaultValueFactory = _ => InstallerSettings.DefaultStateDir,
    };

    private static readonly Option<bool> EditContainerdConfigOption = new("--edit-containerd-config")
    {
        Description = "Add config_path to containerd's config.toml when it is missing (backed up; containerd must then be restarted, which the installer never does).",
    };

    private static readonly Option<string> DockerCertsDirOption = new("--docker-certs-dir")
    {
        Description = "Docker: the directory Docker Engine reads <domain>/ca.crt from.",
        DefaultValueFactory = _ => InstallerSettings.DefaultDockerCertsDir,
    };

    private static readonly Option<string> HostsFileOption = new("--hosts-file")
    {
        Description = "Docker: the hosts file that gets a marked block resolving each distribution domain to --docker-address (written in place).",
        DefaultValueFactory = _ => InstallerSettings.DefaultHostsFile,
    };

    private static readonly Option<string> DockerAddressOption = new("--docker-address")
    {
        Description = "Docker: the loopback address the agent's Docker endpoint listens on (the agent's DockerMirror:ListenAddress).",
        DefaultValueFactory = _ => InstallerSettings.DefaultDockerAddress,
    };

    private static readonly Option<string> DomainPatternOption = new("--domain-pattern")
    {
        Description = "Docker: the distribution domain of each registry; {registry} is the registry host with ':' as '-' (the agent's DockerMirror:DomainPattern).",
        DefaultValueFactory = _ => DistributionDomains.DefaultPattern,
    };

    private static readonly Option<string> DockerTlsDirOption = new("--docker-tls-dir")
    {
        Description = "Docker: where the installer keeps its CA (ca.crt, ca.key) and a <domain>.crt/.key per domain for the agent (DockerMirror:CertificateDir).",
        DefaultValueFactory = _ => InstallerSettings.DefaultDockerTlsDir,
    };

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "Configures a node's container runtime to pull through the PeerAgent agent, with the registry itself as the fallback; uninstall puts every file back.");
        root.Subcommands.Add(Command("install", "Write the runtime's mirror configuration (hosts.toml for containerd, a registries.conf.d drop-in for CRI-O/podman, distribution domains for Docker).", Verb.Install, output, error));
        root.Subcommands.Add(Command("uninstall", "Restore every file install replaced, byte for byte, and remove the files and directories it created.", Verb.Uninstall, output, error));
        root.Subcommands.Add(Command("status", "Show, per runtime and registry, whether the agent is configured and whether the runtime reads it (exit 1 if not).", Verb.Status, output, error));
        Hooks.CleanupCommands.AddTo(root, output, error);

        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = output, Error = error };
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine(e.Message);
            }

            error.WriteLine("Run with --help for usage.");
            return ExitCodes.Usage;
        }

        return parse.Invoke(config);
    }

    private enum Verb
    {
        Install,
        Uninstall,
        Status,
    }

    private static Command Command(string name, string description, Verb verb, TextWriter output, TextWriter error)
    {
        var command = new Command(name, description)
        {
            RootOption, DryRunOption, RuntimeOption, RegistryOption, MirrorUrlOption, ContainerdConfigOption, CertsDirOption,
            RegistriesConfDirOption, StateDirOption, EditContainerdConfigOption, DockerCertsDirOption, HostsFileOption,
            DockerAddressOption, DomainPatternOption, DockerTlsDirOption,
        };
        command.SetAction(parse =>
        {
            try
            {
                var settings = Settings(parse, verb);
                var installer = new NodeInstaller(settings, output);
                return verb switch
                {
                    Verb.Install => installer.Install(),
                    Verb.Uninstall => installer.Uninstall(),
                    _ => installer.Status(),
                };
            }
            catch (InstallerException e)
            {
                error.WriteLine($"error: {e.Message}");
                return e.ExitCode;
            }
        });
        return command;
    }

    private static InstallerSettings Settings(ParseResult parse, Verb verb)
    {
        var runtime = parse.GetValue(RuntimeOption) switch
        {
            "auto" => RuntimeKind.Auto,
            "containerd" => RuntimeKind.Containerd,
            "crio" or "cri-o" or "podman" => RuntimeKind.Crio,
            "docker" => RuntimeKind.Docker,
            var other => throw new InstallerException($"--runtime {other}: expected containerd, crio, docker or auto", ExitCodes.Usage),
        };

        var registries = new List<string>();
        foreach (var registry in parse.GetValue(RegistryOption) ?? [])
        {
            if (registry == InstallerSettings.AllRegistries)
            {
                registries.Add(registry);
                continue;
            }

            if (!RegistryHosts.IsValidHost(registry))
            {
                throw new InstallerException(
                    $"--registry {registry}: not a registry host (expected a host name or address with an optional port, such as docker.io or registry.example:5000, or _default)",
                    ExitCodes.Usage);
            }

            var canonical = RegistryHosts.Canonicalize(registry);
            if (!registries.Contains(canonical))
            {
                registries.Add(canonical);
            }
        }

        if (verb == Verb.Install && registries.Count == 0)
        {
            throw new InstallerException("install needs at least one --registry (docker.io, ghcr.io, ... or _default)", ExitCodes.Usage);
        }

        var mirror = parse.GetValue(MirrorUrlOption)!;
        if (!Uri.TryCreate(mirror, UriKind.Absolute, out var mirrorUrl) || (mirrorUrl.Scheme != Uri.UriSchemeHttp && mirrorUrl.Scheme != Uri.UriSchemeHttps)
            || mirrorUrl.AbsolutePath != "/" || !string.IsNullOrEmpty(mirrorUrl.Query))
        {
            throw new InstallerException($"--mirror-url {mirror}: expected http://host:port or https://host:port", ExitCodes.Usage);
        }

        var address = parse.GetValue(DockerAddressOption)!;
        if (!IPAddress.TryParse(address, out var dockerAddress) || !IPAddress.IsLoopback(dockerAddress))
        {
            throw new InstallerException($"--docker-address {address}: expected a loopback address such as 127.0.0.77 (the agent's Docker endpoint is for this node only)", ExitCodes.Usage);
        }

        var pattern = parse.GetValue(DomainPatternOption)!;
        if (!DistributionDomains.TryValidatePattern(pattern, out var patternError))
        {
            throw new InstallerException($"--domain-pattern: {patternError}", ExitCodes.Usage);
        }

        var rootPath = parse.GetValue(RootOption)!;
        if (!Directory.Exists(rootPath))
        {
            throw new InstallerException($"--root {rootPath}: no such directory");
        }

        return new InstallerSettings
        {
            Root = new HostRoot(rootPath),
            DryRun = parse.GetValue(DryRunOption),
            Runtime = runtime,
            Registries = registries,
            MirrorUrl = mirrorUrl,
            ContainerdConfig = Absolute(parse.GetValue(ContainerdConfigOption)!, "--containerd-config"),
            CertsDir = Absolute(parse.GetValue(CertsDirOption)!, "--certs-dir"),
            RegistriesConfDir = Absolute(parse.GetValue(RegistriesConfDirOption)!, "--registries-conf-dir"),
            StateDir = Absolute(parse.GetValue(StateDirOption)!, "--state-dir"),
            EditContainerdConfig = parse.GetValue(EditContainerdConfigOption),
            DockerCertsDir = Absolute(parse.GetValue(DockerCertsDirOption)!, "--docker-certs-dir"),
            HostsFile = Absolute(parse.GetValue(HostsFileOption)!, "--hosts-file"),
            DockerAddress = dockerAddress,
            DomainPattern = pattern,
            DockerTlsDir = Absolute(parse.GetValue(DockerTlsDirOption)!, "--docker-tls-dir"),
        };
    }

    private static string Absolute(string path, string option) =>
        Path.IsPathRooted(path) && !path.Split('/').Contains("..")
            ? (path.Length > 1 ? path.TrimEnd('/') : path)
            : throw new InstallerException($"{option} {path}: expected an absolute path on the node (without ..)", ExitCodes.Usage);
}
