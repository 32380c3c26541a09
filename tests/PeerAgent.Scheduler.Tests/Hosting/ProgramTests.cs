using System.Reflection;

namespace PeerAgent.Scheduler.Tests.Hosting;

/// <summary>The scheduler's entry point, in-process: what it answers before it builds anything.</summary>
public sealed class ProgramTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task RunAsync_Help_PrintsUsageAndExits0(string flag)
    {
        var (exit, output, error) = await RunAsync(flag, "--Scheduler:ListenUrl=http://127.0.0.1:0");

        exit.Should().Be(0);
        error.Should().BeEmpty();
        output.Should().Contain("scheduler").And.Contain("appsettings.json").And.Contain("PEERAGENT_Scheduler__")
            .And.Contain("--Scheduler:").And.Contain("docs/configuration.md");
        output.Should().MatchRegex(@"Scheduler:ListenUrl +https://0\.0\.0\.0:65004", "the main keys are listed with their defaults");
        output.Should().MatchRegex(@"Scheduler:HostExpiry +00:00:10");
        output.Should().MatchRegex(@"Scheduler:ZoneLeaders +1").And.MatchRegex(@"Kubernetes:ShardService +\(none\)")
            .And.MatchRegex(@"Kubernetes:Namespace +\(pod's own\)");
    }

    [Fact]
    public async Task RunAsync_Version_PrintsTheInformationalVersionAndExits0()
    {
        var version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var (exit, output, error) = await RunAsync("--version");

        exit.Should().Be(0);
        error.Should().BeEmpty();
        output.Should().Be($"PeerAgent.Scheduler {version}\n");
    }

    [Theory]
    [InlineData("start")]
    [InlineData("/Scheduler:FanOutLimit=3")]
    [InlineData("--Scheduler:FanOutLimit")]
    public async Task RunAsync_NotConfigurationSyntax_Exits2WithUsageError(string arg)
    {
        var (exit, output, error) = await RunAsync(arg);

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Should().StartWith($"usage error: '{arg}' ").And.Contain("--help");
    }

    [Fact]
    public async Task RunAsync_BadConfiguration_Exits2PrintingEveryErrorOnItsOwnLine()
    {
        var (exit, _, error) = await RunAsync(
            "--Scheduler:ListenUrl", "http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0",
            "--Scheduler:HostExpiry=soon", "--Scheduler:FanOutLimit=many", "--Scheduler:FanOutLimt=3", "--Tls:AllowInsecure=true");

        exit.Should().Be(2);
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().BeEquivalentTo(
            "configuration error: Scheduler:HostExpiry 'soon' is not a time span such as 00:00:10 (hh:mm:ss).",
            "configuration error: Scheduler:FanOutLimit 'many' is not a whole number.",
            "configuration error: Scheduler:FanOutLimt is not a known key; known keys in Scheduler: ListenUrl, FanOutLimit, BackToSourceQuota, "
                + "StripeBackToSource, ZoneLeaders, CandidateParentCount, CandidateSampleSize, ParentFailureLimit, HostExpiry, BackToSourceStallTimeout, "
                + "WaitRetryInterval, TakeoverGrace, SweepInterval.");
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Program.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
