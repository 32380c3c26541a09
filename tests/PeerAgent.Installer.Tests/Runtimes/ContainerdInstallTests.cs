using PeerAgent.Installer.Runtimes;
using Tomlyn;
using Tomlyn.Model;

namespace PeerAgent.Installer.Tests.Runtimes;

public sealed class ContainerdInstallTests : IDisposable
{
    private const string DockerHosts = "/etc/containerd/certs.d/docker.io/hosts.toml";
    private const string UserHostsToml =
        "server = \"https://registry-1.docker.io\"\nca = \"/etc/certs/corp-ca.pem\"\nskip_verify = false\n\n" +
        "[host.\"https://mirror.corp.example\"]\n  capabilities = [\"pull\"]\n  ca = \"/etc/certs/mirror-ca.pem\"\n  client = [[\"/etc/certs/c.cert\", \"/etc/certs/c.key\"]]\n";

    private readonly NodeRoot _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Install_NoHostsToml_WritesAgentFirstAndDockerHubAsFallback()
    {
        _node.ContainerdWithConfigPath();

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(0, result.ToString());
        var model = TomlSerializer.Deserialize<TomlTable>(_node.Read(DockerHosts))!;
        model["server"].Should().Be("https://registry-1.docker.io");
        HostsToml.FirstHost(model).Should().Be("http://127.0.0.1:65001");
        ((TomlTable)((TomlTable)model["host"])["http://127.0.0.1:65001"])["capabilities"].Should().BeEquivalentTo(new[] { "pull", "resolve" });
    }

    [Fact]
    public void Install_RegistryAlias_WritesCanonicalDirectory()
    {
        _node.ContainerdWithConfigPath();

        _node.Run("install", "--registry", "index.docker.io").ExitCode.Should().Be(0);

        _node.Exists(DockerHosts).Should().BeTrue("index.docker.io is docker.io, whose directory containerd looks up");
    }

    [Fact]
    public void Install_Default_WritesNoServerLine()
    {
        _node.ContainerdWithConfigPath();

        var result = _node.Run("install", "--registry", "_default", "--mirror-url", "http://127.0.0.1:7777");

        result.ExitCode.Should().Be(0, result.ToString());
        var model = TomlSerializer.Deserialize<TomlTable>(_node.Read("/etc/containerd/certs.d/_default/hosts.toml"))!;
        model.ContainsKey("server").Should().BeFalse("_default stands for every registry, so there is no one upstream");
        HostsToml.FirstHost(model).Should().Be("http://127.0.0.1:7777");
    }

    [Fact]
    public void Install_UsersHostsTomlWithCaAndMirror_KeepsThemAfterTheAgentAndUninstallRestoresBytes()
    {
        _node.ContainerdWithConfigPath();
        _node.Write(DockerHosts, UserHostsToml, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);

        var written = _node.Read(DockerHosts);
        var model = TomlSerializer.Deserialize<TomlTable>(written)!;
        model["ca"].Should().Be("/etc/certs/corp-ca.pem");
        model["skip_verify"].Should().Be(false);
        model["server"].Should().Be("https://registry-1.docker.io");
        ((TomlTable)model["host"]).Keys.Should().Equal(["http://127.0.0.1:65001", "https://mirror.corp.example"], "the agent comes first, the user's mirror after it");
        var userMirror = (TomlTable)((TomlTable)model["host"])["https://mirror.corp.example"];
        userMirror["ca"].Should().Be("/etc/certs/mirror-ca.pem");
        userMirror.ContainsKey("client").Should().BeTrue();
        File.GetUnixFileMode(_node.Resolve(DockerHosts)).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "a replaced file keeps its mode");

        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Read(DockerHosts).Should().Be(UserHostsToml);
    }

    [Fact]
    public void InstallTwiceThenUninstall_UserFilesAround_SecondInstallChangesNothingAndUninstallRestoresTheTree()
    {
        _node.ContainerdWithConfigPath();
        _node.Write(DockerHosts, UserHostsToml, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _node.Write("/etc/containerd/certs.d/docker.io/client.cert", "user cert");
        _node.Write("/etc/containerd/certs.d/quay.io/hosts.toml", "server = \"https://quay.io\"\n");
        _node.Write("/etc/containerd/certs.d/README", "user notes");
        var original = _node.Snapshot();

        _node.Run("install", "--registry", "docker.io", "--registry", "ghcr.io").ExitCode.Should().Be(0);
        var afterFirst = _node.Snapshot();
        var second = _node.Run("install", "--registry", "docker.io", "--registry", "ghcr.io");
        second.ExitCode.Should().Be(0);
        second.Output.Should().Contain("nothing changed");
        _node.Snapshot().Should().Equal(afterFirst, "a second install changes no byte");
        foreach (var user in new[] { "etc/containerd/certs.d/docker.io/client.cert", "etc/containerd/certs.d/quay.io/hosts.toml", "etc/containerd/certs.d/README" })
        {
            afterFirst[user].Should().Be(original[user], "install never touches the user's other files");
        }

        var uninstall = _node.Run("uninstall");

        uninstall.ExitCode.Should().Be(0, uninstall.ToString());
        _node.Snapshot().Should().Equal(original, "uninstall puts back every byte and mode and removes what install created");
    }

    [Fact]
    public void Install_NewCertsDir_UninstallRemovesCreatedDirectories()
    {
        _node.ContainerdWithConfigPath();
        var original = _node.Snapshot();

        _node.Run("install", "--registry", "ghcr.io").ExitCode.Should().Be(0);
        _node.Exists("/etc/containerd/certs.d/ghcr.io/hosts.toml").Should().BeTrue();
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Snapshot().Should().Equal(original);
        _node.Exists("/etc/containerd/certs.d").Should().BeFalse("the installer created it and it is empty again");
    }

    [Fact]
    public void Uninstall_UserAddedFileToCreatedDirectory_KeepsDirectoryAndFile()
    {
        _node.ContainerdWithConfigPath();
        _node.Run("install", "--registry", "ghcr.io").ExitCode.Should().Be(0);
        _node.Write("/etc/containerd/certs.d/ghcr.io/ca.crt", "added later");

        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Read("/etc/containerd/certs.d/ghcr.io/ca.crt").Should().Be("added later");
        _node.Exists("/etc/containerd/certs.d/ghcr.io/hosts.toml").Should().BeFalse();
    }

    [Fact]
    public void InstallDryRun_Always_ChangesNothingAndPrintsDiff()
    {
        _node.ContainerdWithConfigPath();
        _node.Write(DockerHosts, UserHostsToml);
        var original = _node.Snapshot();

        var result = _node.Run("install", "--registry", "docker.io", "--registry", "ghcr.io", "--dry-run");

        result.ExitCode.Should().Be(0, result.ToString());
        _node.Snapshot().Should().Equal(original);
        result.Output.Should().Contain("--- a/etc/containerd/certs.d/docker.io/hosts.toml\n+++ b/etc/containerd/certs.d/docker.io/hosts.toml\n@@ ");
        result.Output.Should().Contain("+[host.\"http://127.0.0.1:65001\"]\n");
        result.Output.Should().Contain("--- /dev/null\n+++ b/etc/containerd/certs.d/ghcr.io/hosts.toml\n@@ -0,0 +1,5 @@\n");
    }

    [Fact]
    public void UninstallDryRun_AfterInstall_ChangesNothingAndPrintsDiff()
    {
        _node.ContainerdWithConfigPath();
        _node.Run("install", "--registry", "ghcr.io").ExitCode.Should().Be(0);
        var installed = _node.Snapshot();

        var result = _node.Run("uninstall", "--dry-run");

        result.ExitCode.Should().Be(0);
        _node.Snapshot().Should().Equal(installed);
        result.Output.Should().Contain("--- a/etc/containerd/certs.d/ghcr.io/hosts.toml\n+++ /dev/null\n");
    }

    [Theory]
    [InlineData(2, "[plugins.\"io.containerd.grpc.v1.cri\".registry]")]
    [InlineData(3, "[plugins.\"io.containerd.cri.v1.images\".registry]")]
    public void Install_ConfigPathMissing_FailsWithTheLinesToAdd(int version, string table)
    {
        _node.Write("/etc/containerd/config.toml", $"version = {version}\n");
        var original = _node.Snapshot();

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain(table + "\n  config_path = \"/etc/containerd/certs.d\"\n");
        result.Error.Should().Contain("--edit-containerd-config");
        _node.Snapshot().Should().Equal(original, "a failed preflight changes nothing");
    }

    [Fact]
    public void Install_ConfigTomlMissing_FailsWithVersionAndTable()
    {
        Directory.CreateDirectory(_node.Resolve("/etc/containerd"));

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain("version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n");
    }

    [Fact]
    public void Install_ConfigPathOtherDirectory_FailsNamingIt()
    {
        _node.Write("/etc/containerd/config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/docker/certs.d\"\n");

        var result = _node.Run("install", "--registry", "docker.io", "--edit-containerd-config");

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain("--certs-dir /etc/docker/certs.d", "the installer does not drop the user's directory from config_path");
    }

    [Fact]
    public void Install_ConfigPathListIncludesCertsDir_Succeeds()
    {
        _node.Write("/etc/containerd/config.toml", "version = 3\n[plugins.\"io.containerd.cri.v1.images\".registry]\n  config_path = \"/etc/docker/certs.d:/etc/containerd/certs.d/\"\n");

        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);
    }

    [Theory]
    [InlineData(2, "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"overlayfs\"\n")]
    [InlineData(3, "version = 3\n\n[plugins.\"io.containerd.cri.v1.images\".registry]\n  # registry settings\n\n[plugins.\"io.containerd.cri.v1.runtime\"]\n  enable_selinux = false\n")]
    public void Install_EditContainerdConfig_SetsConfigPathSaysRestartAndUninstallRestores(int version, string config)
    {
        _node.Write("/etc/containerd/config.toml", config);
        var original = _node.Snapshot();

        var result = _node.Run("install", "--registry", "docker.io", "--edit-containerd-config");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().Contain("restart containerd");
        var edited = _node.Read("/etc/containerd/config.toml");
        edited.Should().StartWith(config.Split("\n\n")[0], "the user's lines stay");
        var parsed = ContainerdConfig.Parse(edited, "/etc/containerd/config.toml");
        parsed.Version.Should().Be(version);
        parsed.Covers("/etc/containerd/certs.d").Should().BeTrue();
        _node.Run("install", "--registry", "docker.io", "--edit-containerd-config").Output.Should().Contain("nothing changed");

        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Snapshot().Should().Equal(original);
    }

    [Fact]
    public void Install_UnwritableCertsDir_ExitsOneNamingThePath()
    {
        _node.ContainerdWithConfigPath();
        // Tests run as root, for whom permissions do not stop a write: a file where a directory must go does.
        _node.Write("/etc/containerd/certs.d", "not a directory");
        var original = _node.Snapshot();

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().StartWith("error: cannot create directory /etc/containerd/certs.d (under root ");
        _node.Snapshot().Should().Equal(original, "the failure came before any file was written");
    }

    [Fact]
    public void Install_SecondRegistryUnwritable_UninstallUndoesTheFirst()
    {
        _node.ContainerdWithConfigPath();
        _node.Write(DockerHosts, "server = \"https://registry-1.docker.io\"\n");
        // ghcr.io's directory cannot be created: a file stands where it must go.
        _node.Write("/etc/containerd/certs.d/ghcr.io", "in the way");
        var original = _node.Snapshot();

        var failed = _node.Run("install", "--registry", "docker.io", "--registry", "ghcr.io");
        failed.ExitCode.Should().Be(1, failed.ToString());
        failed.Error.Should().Contain("cannot create directory /etc/containerd/certs.d/ghcr.io");

        _node.Run("uninstall").ExitCode.Should().Be(0);
        _node.Snapshot().Should().Equal(original, "what the failed install recorded is enough to undo it");
    }

    [Fact]
    public void Install_HostsTomlNotToml_ExitsOneAndLeavesItAlone()
    {
        _node.ContainerdWithConfigPath();
        _node.Write(DockerHosts, "this is = = not toml\n");

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain(DockerHosts).And.Contain("not valid TOML");
        _node.Read(DockerHosts).Should().Be("this is = = not toml\n");
    }

    [Fact]
    public void Status_AfterInstall_ReportsAgentFirstAndCovered()
    {
        _node.ContainerdWithConfigPath();
        _node.Run("status", "--registry", "docker.io").ExitCode.Should().Be(1, "nothing is configured yet");
        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);

        var result = _node.Run("status");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().Contain("covers /etc/containerd/certs.d");
        result.Output.Should().Contain("docker.io: agent http://127.0.0.1:65001 first");
    }

    [Fact]
    public void Status_ConfigPathMissing_ReportsNotCoveredAndExitsOne()
    {
        _node.Write("/etc/containerd/config.toml", "version = 2\n");
        _node.Write(DockerHosts, "[host.\"http://127.0.0.1:65001\"]\n  capabilities = [\"pull\", \"resolve\"]\n");

        var result = _node.Run("status");

        result.ExitCode.Should().Be(1);
        result.Output.Should().Contain("does NOT cover").And.Contain("docker.io: agent http://127.0.0.1:65001 first, but containerd does not read it");
    }
}
