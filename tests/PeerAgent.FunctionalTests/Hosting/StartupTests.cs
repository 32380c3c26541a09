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
}
