using System.Reflection;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Hosting;

/// <summary>The agent's entry point, in-process: what it answers before it builds anything.</summary>
public sealed class ProgramTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task RunAsync_Help_PrintsUsageAndExits0(string flag)
    {
        var (exit, output, error) = await RunAsync("--Mirror:ListenUrl=http://127.0.0.1:0", flag);

        exit.Should().Be(0);
        error.Should().BeEmpty();
        output.Should().Contain("registry mirror").And.Contain("appsettings.json").And.Contain("PEERAGENT_Store__DataDir=")
            .And.Contain("--Store:DataDir=").And.Contain("docs/configuration.md").And.Contain("EmbeddedScheduler:");
        output.Should().MatchRegex(@"Mirror:ListenUrl +http://127\.0\.0\.1:65001", "the main keys are listed with their defaults");
        output.Should().Contain("Tls:CaFile").And.Contain("Tls:AllowInsecure", "mutual TLS needs certificates, so --help says how");
        output.Should().MatchRegex(@"Scheduler:Address +\(empty\)");
    }

    [Fact]
    public async Task RunAsync_Version_PrintsTheInformationalVersionAndExits0()
    {
        var version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var (exit, output, error) = await RunAsync("--version");

        exit.Should().Be(0);
        error.Should().BeEmpty();
        output.Should().Be($"PeerAgent.Agent {version}\n");
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("Store:DataDir=/tmp/x")]
    [InlineData("-v")]
    [InlineData("--")]
    [InlineData("--Store:DataDir")]
    public async Task RunAsync_NotConfigurationSyntax_Exits2WithUsageError(string arg)
    {
        var (exit, output, error) = await RunAsync("--Mirror:ListenUrl=http://127.0.0.1:0", arg);

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Should().StartWith($"usage error: '{arg}' ").And.Contain("--help");
    }

    [Fact]
    public async Task RunAsync_BadConfiguration_Exits2PrintingEveryErrorOnItsOwnLine()
    {
        using var dir = new TempDir("agent-program");

        var (exit, output, error) = await RunAsync(
            "--Store:DataDir=" + dir.Path,
            "--Peer:MaxPiecesInFlight", "abc",
            "--Upstream:AttemptTimeout=soon",
            "--Mirror:ListenUlr=http://127.0.0.1:0",
            "--Peer:ListenUrl=http://127.0.0.1:0",
            "--Tls:AllowInsecure=true");

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().BeEquivalentTo(
            "configuration error: Mirror:ListenUlr is not a known key; known keys in Mirror: ListenUrl, AllowNonLoopback, DefaultRegistry, MaxManifestBytes.",
            "configuration error: Upstream:AttemptTimeout 'soon' is not a time span such as 00:00:10 (hh:mm:ss).",
            "configuration error: Peer:MaxPiecesInFlight 'abc' is not a whole number.");
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Program.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
