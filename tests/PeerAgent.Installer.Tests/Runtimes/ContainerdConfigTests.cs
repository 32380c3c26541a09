using PeerAgent.Installer.Runtimes;

namespace PeerAgent.Installer.Tests.Runtimes;

public sealed class ContainerdConfigTests
{
    private const string Certs = "/etc/containerd/certs.d";

    [Fact]
    public void Parse_NoVersion_ReadsVersionOneCriTable()
    {
        var config = ContainerdConfig.Parse("[plugins.cri.registry]\n  config_path = \"/etc/containerd/certs.d\"\n", "/c");

        config.Version.Should().Be(1);
        config.Covers(Certs).Should().BeTrue();
    }

    [Fact]
    public void Parse_V2KeyInV3File_DoesNotCover()
    {
        var config = ContainerdConfig.Parse("version = 3\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n", "/c");

        config.Covers(Certs).Should().BeFalse("version 3 reads config_path from io.containerd.cri.v1.images");
        config.LinesToAdd(Certs).Should().Be("[plugins.\"io.containerd.cri.v1.images\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n");
    }

    [Fact]
    public void WithConfigPath_EmptyConfigPathLine_ReplacesOnlyThatLine()
    {
        const string text = "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"\"\n\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors]\n";
        var config = ContainerdConfig.Parse(text, "/c");

        var edited = config.WithConfigPath(text, Certs, "/c");

        edited.Should().Be(text.Replace("config_path = \"\"", "config_path = \"/etc/containerd/certs.d\"", StringComparison.Ordinal));
    }

    [Fact]
    public void WithConfigPath_RegistryAsDottedKeyOfPluginTable_ReturnsNullRatherThanBreakTheFile()
    {
        // Appending [plugins."io.containerd.grpc.v1.cri".registry] would redefine a table the dotted key already made.
        const string text = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  registry.mirrors = {}\n";
        var config = ContainerdConfig.Parse(text, "/c");

        config.WithConfigPath(text, Certs, "/c").Should().BeNull();
    }
}
