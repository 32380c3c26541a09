using System.Security.Cryptography.X509Certificates;
using PeerAgent.Installer.Runtimes;

namespace PeerAgent.Installer.Tests.Runtimes;

public sealed class DockerInstallTests : IDisposable
{
    private const string UserHosts = "127.0.0.1\tlocalhost\n# the user's own line\n10.0.0.5 build.corp.example\n";
    private const string TlsDir = "/var/lib/peeragent/docker-tls";
    private const string DockerDomain = "docker.io.peeragent.internal";
    private const string PortDomain = "registry.example-5000.peeragent.internal";

    private static readonly string[] Docker = ["--runtime", "docker"];

    private readonly NodeRoot _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Install_TwoRegistries_WritesHostsBlockCertificatesAndCaForEachDomain()
    {
        _node.Write("/etc/hosts", UserHosts);

        var result = _node.Run(["install", .. Docker, "--registry", "_default", "--registry", "registry.example:5000"]);

        result.ExitCode.Should().Be(0, result.ToString());
        _node.Read("/etc/hosts").Should().Be(
            UserHosts + DockerConfigurator.HostsBlock.Begin + "\n127.0.0.77 " + DockerDomain + "\n127.0.0.77 " + PortDomain + "\n" + DockerConfigurator.HostsBlock.End + "\n",
            "the block is appended after the user's lines, which keep every byte; _default is docker.io for Docker");
        var caPem = _node.Read(TlsDir + "/ca.crt");
        foreach (var domain in new[] { DockerDomain, PortDomain })
        {
            _node.Read($"/etc/docker/certs.d/{domain}/ca.crt").Should().Be(caPem, "Docker trusts the installer's CA for {0}", domain);
            using var serving = X509Certificate2.CreateFromPem(_node.Read($"{TlsDir}/{domain}.crt"), _node.Read($"{TlsDir}/{domain}.key"));
            serving.MatchesHostname(domain).Should().BeTrue();
            using var ca = X509Certificate2.CreateFromPem(caPem);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.Build(serving).Should().BeTrue("the serving certificate of {0} is signed by the CA in certs.d", domain);
            File.GetUnixFileMode(_node.Resolve($"{TlsDir}/{domain}.key")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.GetUnixFileMode(_node.Resolve(TlsDir + "/ca.key")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "the CA key is 0600");
    }

    [Fact]
    public void InstallTwiceThenUninstall_UserFilesAround_SecondChangesNoByteAndUninstallRestoresTheTree()
    {
        _node.Write("/etc/hosts", UserHosts, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        _node.Write("/etc/docker/certs.d/ghcr.io/ca.crt", "user's CA for ghcr.io");
        _node.Write("/etc/docker/certs.d/" + DockerDomain + "/client.cert", "user's client certificate");
        _node.Write("/etc/docker/daemon.json", "{}\n");
        var original = _node.Snapshot();

        _node.Run(["install", .. Docker, "--registry", "docker.io", "--registry", "registry.example:5000"]).ExitCode.Should().Be(0);
        var afterFirst = _node.Snapshot();
        var second = _node.Run(["install", .. Docker, "--registry", "docker.io", "--registry", "registry.example:5000"]);

        second.ExitCode.Should().Be(0, second.ToString());
        second.Output.Should().Contain("nothing changed");
        _node.Snapshot().Should().Equal(afterFirst, "a second install reuses the CA and the valid certificates and changes no byte");
        foreach (var user in new[] { "etc/docker/certs.d/ghcr.io/ca.crt", $"etc/docker/certs.d/{DockerDomain}/client.cert", "etc/docker/daemon.json" })
        {
            afterFirst[user].Should().Be(original[user], "install never touches the user's other files");
        }

        var uninstall = _node.Run("uninstall");

        uninstall.ExitCode.Should().Be(0, uninstall.ToString());
        _node.Snapshot().Should().Equal(original, "uninstall removes the block, the certificates and the CA it created, and nothing else");
    }

    [Fact]
    public void InstallThenUninstall_NoHostsFile_CreatesItAndRemovesIt()
    {
        var original = _node.Snapshot();

        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        _node.Read("/etc/hosts").Should().StartWith(DockerConfigurator.HostsBlock.Begin);
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Snapshot().Should().Equal(original, "the hosts file the installer created is removed with its block");
    }

    [Fact]
    public void Install_SecondRegistryLater_ReusesTheCaAndKeepsTheFirstDomain()
    {
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        var caKey = _node.Read(TlsDir + "/ca.key");
        var firstCert = _node.Read($"{TlsDir}/{DockerDomain}.crt");

        _node.Run(["install", .. Docker, "--registry", "registry.example:5000"]).ExitCode.Should().Be(0);

        _node.Read(TlsDir + "/ca.key").Should().Be(caKey, "the CA is created once and reused");
        _node.Read($"{TlsDir}/{DockerDomain}.crt").Should().Be(firstCert);
        _node.Read("/etc/hosts").Should().Contain($"127.0.0.77 {DockerDomain}\n127.0.0.77 {PortDomain}\n");
    }

    [Fact]
    public void Install_UsersCaCrtForTheDomain_BackedUpAndRestored()
    {
        var path = $"/etc/docker/certs.d/{DockerDomain}/ca.crt";
        _node.Write(path, "the user's CA", UnixFileMode.UserRead | UnixFileMode.UserWrite);

        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        _node.Read(path).Should().Be(_node.Read(TlsDir + "/ca.crt"));
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Read(path).Should().Be("the user's CA");
        File.GetUnixFileMode(_node.Resolve(path)).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public void Uninstall_HostsEditedAfterInstall_RemovesOnlyTheBlock()
    {
        _node.Write("/etc/hosts", UserHosts);
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        File.AppendAllText(_node.Resolve("/etc/hosts"), "10.1.1.1 added.later\n");

        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Read("/etc/hosts").Should().Be(UserHosts + "10.1.1.1 added.later\n", "lines others added since install stay");
    }

    [Fact]
    public void InstallThenUninstall_HostsWithoutFinalNewline_RestoresExactBytes()
    {
        _node.Write("/etc/hosts", "127.0.0.1 localhost");

        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        _node.Read("/etc/hosts").Should().StartWith("127.0.0.1 localhost\n" + DockerConfigurator.HostsBlock.Begin);
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Read("/etc/hosts").Should().Be("127.0.0.1 localhost");
    }

    [Fact]
    public void Install_HostsFileIsHardLinked_WritesInPlace()
    {
        // A bind-mounted /etc/hosts cannot be renamed over; a hard link shows the same thing: only an in-place write reaches the other name.
        _node.Write("/etc/hosts", UserHosts);
        var other = _node.Resolve("/hosts-link");
        using (var ln = System.Diagnostics.Process.Start("ln", [_node.Resolve("/etc/hosts"), other]))
        {
            ln.WaitForExit(10_000).Should().BeTrue();
            ln.ExitCode.Should().Be(0);
        }

        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);

        File.ReadAllText(other).Should().Contain(DockerDomain, "the hosts file was written in place, not replaced");
    }

    [Fact]
    public void Install_CustomAddressAndPattern_UsesThem()
    {
        var result = _node.Run(["install", .. Docker, "--registry", "ghcr.io", "--docker-address", "127.1.2.3", "--domain-pattern", "{registry}.mirror.example"]);

        result.ExitCode.Should().Be(0, result.ToString());
        _node.Read("/etc/hosts").Should().Contain("127.1.2.3 ghcr.io.mirror.example\n");
        _node.Exists("/etc/docker/certs.d/ghcr.io.mirror.example/ca.crt").Should().BeTrue();
    }

    [Fact]
    public void InstallDryRun_Always_ChangesNothingAndPrintsNoKey()
    {
        _node.Write("/etc/hosts", UserHosts);
        var original = _node.Snapshot();

        var result = _node.Run(["install", .. Docker, "--registry", "docker.io", "--dry-run"]);

        result.ExitCode.Should().Be(0, result.ToString());
        _node.Snapshot().Should().Equal(original);
        result.Output.Should().Contain($"+127.0.0.77 {DockerDomain}\n");
        result.Output.Should().Contain($"+++ b{TlsDir}/{DockerDomain}.crt\n(new certificate for {DockerDomain})\n");
        result.Output.Should().NotContain("PRIVATE KEY").And.NotContain("BEGIN CERTIFICATE");
    }

    [Fact]
    public void Status_AfterInstall_ReportsEachDomainAndExitsZero()
    {
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);

        var status = _node.Run(["status", .. Docker]);

        status.ExitCode.Should().Be(0, status.ToString());
        status.Output.Should().Contain($"{DockerDomain}: resolves to 127.0.0.77, CA trusted, serving certificate valid");
    }

    [Fact]
    public void Status_CaInCertsDirRemoved_ExitsOne()
    {
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        File.Delete(_node.Resolve($"/etc/docker/certs.d/{DockerDomain}/ca.crt"));

        var status = _node.Run(["status", .. Docker, "--registry", "docker.io"]);

        status.ExitCode.Should().Be(1, status.ToString());
        status.Output.Should().Contain("ca.crt missing");
    }

    [Fact]
    public void Install_ServingCertificateDeleted_IssuesANewOneWithTheSameCa()
    {
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        var ca = _node.Read(TlsDir + "/ca.crt");
        File.Delete(_node.Resolve($"{TlsDir}/{DockerDomain}.key"));

        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);

        _node.Read(TlsDir + "/ca.crt").Should().Be(ca);
        _node.Exists($"{TlsDir}/{DockerDomain}.key").Should().BeTrue();
        _node.Run(["status", .. Docker]).ExitCode.Should().Be(0);
    }

    [Theory]
    [InlineData("--domain-pattern", "peeragent.internal")]
    [InlineData("--domain-pattern", "{registry}.{registry}.x")]
    [InlineData("--domain-pattern", "{registry}_mirror.internal")]
    [InlineData("--domain-pattern", "{registry}")]
    [InlineData("--docker-address", "10.0.0.1")]
    [InlineData("--docker-address", "not-an-address")]
    public void Install_BadPatternOrAddress_ExitsTwo(string option, string value)
    {
        var original = _node.Snapshot();

        var result = _node.Run(["install", .. Docker, "--registry", "docker.io", option, value]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain(option);
        _node.Snapshot().Should().Equal(original);
    }

    [Fact]
    public void Install_RegistryThePatternCannotName_ExitsTwo()
    {
        var result = _node.Run(["install", .. Docker, "--registry", "[::1]:5000"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain("[::1]:5000").And.Contain("not a DNS name");
    }

    [Fact]
    public void Install_AutoWithOnlyEtcDocker_DoesNotPickDocker()
    {
        _node.Write("/etc/docker/registry/config.yml", "version: 0.1\n");

        var result = _node.Run("install", "--registry", "docker.io");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().Contain("--runtime containerd|crio|docker");
        _node.Exists("/etc/hosts").Should().BeFalse();
    }

    [Fact]
    public void InstallContainerdThenDocker_OneStateDir_UninstallUndoesBoth()
    {
        _node.ContainerdWithConfigPath();
        _node.Write("/etc/hosts", UserHosts);
        var original = _node.Snapshot();

        _node.Run("install", "--registry", "docker.io").ExitCode.Should().Be(0);
        _node.Run(["install", .. Docker, "--registry", "docker.io"]).ExitCode.Should().Be(0);
        _node.Exists("/etc/containerd/certs.d/docker.io/hosts.toml").Should().BeTrue();
        _node.Run("uninstall").ExitCode.Should().Be(0);

        _node.Snapshot().Should().Equal(original);
    }
}
