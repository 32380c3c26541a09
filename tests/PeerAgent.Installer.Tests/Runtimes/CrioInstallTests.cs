using Tomlyn;
using Tomlyn.Model;

namespace PeerAgent.Installer.Tests.Runtimes;

public sealed class CrioInstallTests : IDisposable
{
    private const string DropIn = "/etc/containers/registries.conf.d/50-peeragent.conf";
    private const string RegistriesConf = "/etc/containers/registries.conf";

    private readonly NodeRoot _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Install_Crio_WritesMirrorPerRegistryAndLeavesRegistriesConf()
    {
        _node.Write(RegistriesConf, "unqualified-search-registries = [\"docker.io\"]\n");

        var result = _node.Run("install", "--registry", "docker.io", "--registry", "ghcr.io");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().Contain("crio");
        _node.Read(RegistriesConf).Should().Be("unqualified-search-registries = [\"docker.io\"]\n");
        var model = TomlSerializer.Deserialize<TomlTable>(_node.Read(DropIn))!;
        var registries = (TomlTableArray)model["registry"];
        registries.Select(r => r["location"]).Should().Equal(["docker.io", "ghcr.io"]);
        var mirror = ((TomlTableArray)registries[1]["mirror"])[0];
        mirror["location"].Should().Be("127.0.0.1:65001/ghcr.io");
        mirror["insecure"].Should().Be(true);
    }

    [Fact]
    public void Install_CrioDefault_ExitsTwoSayingWhy()
    {
        var result = _node.Run("install", "--runtime", "crio", "--registry", "_default");

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("_default cannot be expressed for CRI-O/podman");
        _node.Exists(DropIn).Should().BeFalse();
    }

    [Fact]
    public void Install_CrioRegistryWithPort_ExitsTwo()
    {
        var result = _node.Run("install", "--runtime", "crio", "--registry", "registry.example:5000");

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("registry.example:5000");
    }

    [Fact]
    public void InstallTwiceThenUninstall_Crio_RestoresTheTree()
    {
        _node.Write(RegistriesConf, "# user's\n");
        _node.Write("/etc/containers/registries.conf.d/10-user.conf", "[[registry]]\nlocation = \"quay.io\"\n");
        var original = _node.Snapshot();

        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);
        var afterFirst = _node.Snapshot();
        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);
        _node.Snapshot().Should().Equal(afterFirst);
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Snapshot().Should().Equal(original);
    }

    [Fact]
    public void Install_CrioSecondRegistryLater_KeepsTheFirst()
    {
        Directory.CreateDirectory(_node.Resolve("/etc/crio"));

        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);
        _node.Run("install", "--registry", "ghcr.io").ExitCode.Should().Be(0);

        var status = _node.Run("status");
        status.ExitCode.Should().Be(0, status.ToString());
        status.Output.Should().Contain("docker.io: agent 127.0.0.1:65001/docker.io first").And.Contain("ghcr.io: agent 127.0.0.1:65001/ghcr.io first");
    }
}
