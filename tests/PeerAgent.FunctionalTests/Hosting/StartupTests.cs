using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Hosting;

/// <summary>The real agent binary refuses a bad configuration before it listens, naming every bad key.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Start_SeveralBadKeys_ExitsWithStatus2NamingEachKey()
    {
        using var data = new TempDir("startup");
        var port = FreePort.Get();

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [
                RepoPaths.AgentDll,
                "--Mirror:ListenUrl=http://0.0.0.0:" + port,
                "--Metrics:ListenUrl=http://127.0.0.1",
                "--Store:DataDir=" + data.Path,
                "--Registries:0:Host=not a host",
                "--Registries:1:Host=registry.example",
                "--Registries:1:Username=bot",
                "--Registries:1:Password=hunter2-secret",
            ],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("Mirror:ListenUrl").And.Contain("Metrics:ListenUrl").And.Contain("Registries:0:Host")
            .And.Contain("Registries:1:Public=true");
        run.Output.Should().NotContain("hunter2-secret", "configuration errors never echo a password");
        run.Output.Should().NotContain("Now listening", "nothing listens with a bad configuration");
    }

    [Fact]
    public async Task Start_DockerMirrorOnAndABadRegistry_ExitsWithStatus2NamingTheKeyInsteadOfCrashing()
    {
        // The Docker listener's certificates are built from the registry list while Kestrel is configured, before the
        // start-up check runs; a bad registry there once crashed the agent with an unhandled exception (status 134).
        using var data = new TempDir("startup");
        using var node = new TempDir("node");
        var certificates = Path.Join(node.Path, "docker-tls");
        var install = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [RepoPaths.InstallerDll, "install", "--runtime", "docker", "--root", node.Path, "--state-dir", "/state", "--docker-tls-dir", "/docker-tls", "--registry", "registry.example"],
            TimeSpan.FromSeconds(60));

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [
                RepoPaths.AgentDll,
                "--Store:DataDir=" + data.Path,
                "--Metrics:ListenUrl=http://127.0.0.1:" + FreePort.Get(),
                "--Tls:AllowInsecure=true",
                "--Peer:ListenUrl=http://127.0.0.1:" + FreePort.Get(),
                "--DockerMirror:Enabled=true",
                "--DockerMirror:CertificateDir=" + certificates,
                "--DockerMirror:Port=" + FreePort.Get(),
                "--Registries:0:Host=registry.example",
                "--Registries:0:CaFile=" + Path.Join(data.Path, "no-such-ca.crt"),
            ],
            TimeSpan.FromSeconds(60),
            check: false);

        install.Output.Should().Contain("registry.example", "the installer made the domain's certificate the agent loads");
        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("Registries:0:CaFile").And.NotContain("Unhandled exception");
    }

    [Fact]
    public async Task Start_UnconvertibleValue_ExitsWithStatus2NamingKey()
    {
        using var data = new TempDir("startup");

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [RepoPaths.AgentDll, "--Store:DataDir=" + data.Path, "--Store:QuotaBytes=lots"],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("Store:QuotaBytes");
    }

    [Fact]
    public async Task Start_UnknownKeyFromEnvironment_ExitsWithStatus2NamingIt()
    {
        using var data = new TempDir("startup");

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [
                RepoPaths.AgentDll,
                "--Store:DataDir=" + data.Path,
                "--Mirror:ListenUrl=http://127.0.0.1:0",
                "--Metrics:ListenUrl=http://127.0.0.1:0",
                "--Peer:ListenUrl=http://127.0.0.1:0",
            ],
            TimeSpan.FromSeconds(60),
            check: false,
            new TestProcessOptions { Environment = { ["PEERAGENT_Peer__MaxPeicesInFlight"] = "8" } });

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("configuration error: Peer:MaxPeicesInFlight is not a known key; known keys in Peer: ListenUrl, ");
        run.Output.Should().NotContain("Now listening", "nothing listens with a bad configuration");
    }

    [Fact]
    public async Task Start_Help_PrintsUsageAndExits0WithoutStarting()
    {
        var run = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.AgentDll, "--help"], TimeSpan.FromSeconds(60), check: false);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain("Usage:").And.Contain("PEERAGENT_").And.Contain("docs/configuration.md");
        run.Output.Should().NotContain("Now listening", "--help starts nothing");
    }

    [Fact]
    public async Task Start_StrayArgument_ExitsWithStatus2()
    {
        var run = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.AgentDll, "start"], TimeSpan.FromSeconds(60), check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("usage error: 'start'");
    }

    [Fact]
    public async Task Start_NoCertificates_ExitsWithStatus2SayingHowToMakeThem()
    {
        using var data = new TempDir("startup");

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [RepoPaths.AgentDll, "--Store:DataDir=" + data.Path, "--Mirror:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0"],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("configuration error: Tls:CaFile, Tls:CertFile and Tls:KeyFile are not set")
            .And.Contain("certs ca --out DIR").And.Contain("Tls:AllowInsecure=true");
        run.Output.Should().NotContain("Now listening", "mutual TLS is on by default: no certificates, no listener");
    }

    [Fact]
    public async Task Start_HttpUrlsWithTlsOn_ExitsWithStatus2NamingEachKey()
    {
        using var data = new TempDir("startup");
        var tls = TestCertificates.Shared.Issue("startup");

        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [
                RepoPaths.AgentDll, "--Store:DataDir=" + data.Path, "--Mirror:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0",
                "--Peer:ListenUrl=http://127.0.0.1:0", "--Peer:AdvertiseUrl=http://10.0.0.7:65002", "--Scheduler:Address=http://127.0.0.1:65004",
                .. tls.Arguments,
            ],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("Peer:ListenUrl 'http://127.0.0.1:0' must be https://")
            .And.Contain("Peer:AdvertiseUrl 'http://10.0.0.7:65002' must be https://")
            .And.Contain("Scheduler:Address 'http://127.0.0.1:65004' must be https://");
    }

    [Fact]
    public async Task Certs_RealBinary_WritesACaAndACertificateTheAgentStartsWith()
    {
        using var dir = new TempDir("certs");
        var ca = Path.Combine(dir.Path, "ca");
        var node = Path.Combine(dir.Path, "node");

        var created = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.AgentDll, "certs", "ca", "--out", ca], TimeSpan.FromSeconds(60), check: false);
        var again = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.AgentDll, "certs", "ca", "--out", ca], TimeSpan.FromSeconds(60), check: false);
        var issued = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost, [RepoPaths.AgentDll, "certs", "issue", "--ca", ca, "--name", "node-1", "--ip", "127.0.0.1", "--out", node], TimeSpan.FromSeconds(60), check: false);
        var usage = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.AgentDll, "certs", "sign"], TimeSpan.FromSeconds(60), check: false);

        created.ExitCode.Should().Be(0, created.ToString());
        again.ExitCode.Should().Be(1, "an existing CA is not replaced without --force: {0}", again);
        issued.ExitCode.Should().Be(0, issued.ToString());
        usage.ExitCode.Should().Be(2, usage.ToString());
        await using var agent = await AgentProcess.StartAsync(new AgentOptions
        {
            DefaultRegistry = "127.0.0.1:9",
            Tls = new TlsFilePaths(Path.Combine(node, "ca.crt"), Path.Combine(node, "tls.crt"), Path.Combine(node, "tls.key")),
        });
        agent.LogText.Should().Contain("Mutual TLS on: certificate serial").And.Contain("CN=node-1");
    }
}
