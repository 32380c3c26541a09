using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Hosting;

/// <summary>The real scheduler binary refuses a bad configuration before it listens, naming every bad key.</summary>
public sealed class SchedulerStartupTests
{
    [Fact]
    public async Task Start_SeveralBadKeys_ExitsWithStatus2NamingEachKey()
    {
        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [
                RepoPaths.SchedulerDll,
                "--Scheduler:ListenUrl=http://127.0.0.1",
                "--Metrics:ListenUrl=http://127.0.0.1:" + FreePort.Get(),
                "--Scheduler:HostExpiry=lots",
                "--Scheduler:FanOutLimit=0",
            ],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("Scheduler:ListenUrl").And.Contain("Scheduler:HostExpiry").And.Contain("Scheduler:FanOutLimit");
        run.Output.Should().NotContain("Now listening", "nothing listens with a bad configuration");
    }

    [Fact]
    public async Task Start_Version_PrintsTheVersionAndExits0WithoutStarting()
    {
        var run = await ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.SchedulerDll, "--version"], TimeSpan.FromSeconds(60), check: false);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().StartWith("PeerAgent.Scheduler ");
        run.Output.Should().NotContain("Now listening", "--version starts nothing");
    }

    [Fact]
    public async Task Start_NoCertificates_ExitsWithStatus2SayingHowToMakeThem()
    {
        var run = await ProcessRunner.RunAsync(
            RepoPaths.DotnetHost,
            [RepoPaths.SchedulerDll, "--Scheduler:ListenUrl=https://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0"],
            TimeSpan.FromSeconds(60),
            check: false);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Output.Should().Contain("configuration error: Tls:CaFile, Tls:CertFile and Tls:KeyFile are not set").And.Contain("certs issue");
        run.Output.Should().NotContain("Now listening");
    }
}
