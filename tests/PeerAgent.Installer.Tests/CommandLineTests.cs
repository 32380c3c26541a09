namespace PeerAgent.Installer.Tests;

public sealed class CommandLineTests : IDisposable
{
    private readonly NodeRoot _node = new();

    public void Dispose() => _node.Dispose();

    [Theory]
    [InlineData("bad host")]
    [InlineData("-docker.io")]
    [InlineData("docker.io/library")]
    [InlineData("https://docker.io")]
    public void Install_BadRegistryName_ExitsTwo(string registry)
    {
        _node.ContainerdWithConfigPath();

        var result = _node.Run("install", "--registry", registry);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain($"--registry {registry}: not a registry host");
    }

    [Fact]
    public void Install_NoRegistry_ExitsTwo()
    {
        _node.Run("install").ExitCode.Should().Be(2);
    }

    [Fact]
    public void Install_UnknownOption_ExitsTwo()
    {
        _node.Run("install", "--registyr", "docker.io").ExitCode.Should().Be(2);
    }

    [Fact]
    public void Install_BadRuntime_ExitsTwo()
    {
        _node.Run("install", "--runtime", "rkt", "--registry", "docker.io").ExitCode.Should().Be(2);
    }

    [Fact]
    public void Install_BadMirrorUrl_ExitsTwo()
    {
        _node.Run("install", "--registry", "docker.io", "--mirror-url", "127.0.0.1:65001").ExitCode.Should().Be(2);
    }

    [Fact]
    public void Install_NoRuntimeUnderRoot_ExitsOneSayingWhereItLooked()
    {
        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain("no container runtime found").And.Contain("--runtime");
    }

    [Fact]
    public void InstallAndStatus_ContainerdAndPodmanBothPresent_PickContainerd()
    {
        _node.ContainerdWithConfigPath();
        _node.Write("/etc/containers/registries.conf", "# podman beside containerd\n");

        var install = _node.Run("install", "--registry", "docker.io");
        var status = _node.Run("status");

        install.ExitCode.Should().Be(0, install.ToString());
        _node.Exists("/etc/containerd/certs.d/docker.io/hosts.toml").Should().BeTrue();
        _node.Exists("/etc/containers/registries.conf.d").Should().BeFalse("one runtime per run, containerd first");
        status.ExitCode.Should().Be(0, status.ToString());
        status.Output.Should().StartWith("containerd:");
    }

    [Fact]
    public void Uninstall_NothingInstalled_ExitsZero()
    {
        var result = _node.Run("uninstall");

        result.ExitCode.Should().Be(0);
        result.Output.Should().Contain("nothing to uninstall");
    }

    [Fact]
    public void Help_Install_ListsOptionsAndExitsZero()
    {
        var output = new StringWriter();
        var code = InstallerCli.Run(["install", "--help"], output, new StringWriter());

        code.Should().Be(0);
        output.ToString().Should().Contain("--edit-containerd-config").And.Contain("--dry-run").And.Contain("[default: http://127.0.0.1:65001]");
    }
}
