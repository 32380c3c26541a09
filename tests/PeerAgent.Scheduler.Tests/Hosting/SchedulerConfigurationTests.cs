using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduling.Hosting;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Hosting;

/// <summary>The scheduler process's configuration as <see cref="SchedulerApp.Build"/> binds and checks it.</summary>
public sealed class SchedulerConfigurationTests
{
    private static readonly string[] Loopback = ["--Scheduler:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0", "--Tls:AllowInsecure=true"];

    [Fact]
    public void Build_NothingConfigured_DefaultsWithoutErrors()
    {
        using var app = Build(Loopback, out var errors);

        errors.Should().BeEmpty();
        var options = app!.Services.GetRequiredService<IOptions<SchedulerOptions>>().Value;
        options.Should().BeEquivalentTo(new SchedulerOptions());
        options.SweepInterval.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Build_EveryKey_IsReadIntoTheInstanceTheSchedulerUses()
    {
        using var app = Build(
            [
                .. Loopback,
                "--Scheduler:FanOutLimit=3",
                "--Scheduler:BackToSourceQuota=2",
                "--Scheduler:StripeBackToSource=true",
                "--Scheduler:CandidateParentCount=5",
                "--Scheduler:CandidateSampleSize=100",
                "--Scheduler:ParentFailureLimit=7",
                "--Scheduler:HostExpiry=00:00:30",
                "--Scheduler:BackToSourceStallTimeout=00:01:00",
                "--Scheduler:WaitRetryInterval=00:00:00.250",
                "--Scheduler:SweepInterval=00:00:02",
            ],
            out var errors);

        errors.Should().BeEmpty();
        var options = app!.Services.GetRequiredService<IOptions<SchedulerOptions>>().Value;
        options.Should().BeEquivalentTo(new SchedulerOptions
        {
            FanOutLimit = 3,
            BackToSourceQuota = 2,
            StripeBackToSource = true,
            CandidateParentCount = 5,
            CandidateSampleSize = 100,
            ParentFailureLimit = 7,
            HostExpiry = TimeSpan.FromSeconds(30),
            BackToSourceStallTimeout = TimeSpan.FromMinutes(1),
            WaitRetryInterval = TimeSpan.FromMilliseconds(250),
            SweepInterval = TimeSpan.FromSeconds(2),
        });
        app.Services.GetRequiredService<SwarmScheduler>().Options.Should().BeSameAs(options, "the validated instance is the one the scheduler runs on");
    }

    [Fact]
    public void Build_UnreadableAndOutOfRangeValues_ReportsEveryOneByKey()
    {
        using var app = Build(
            [
                .. Loopback,
                "--Scheduler:FanOutLimit=many",
                "--Scheduler:BackToSourceQuota=0",
                "--Scheduler:StripeBackToSource=maybe",
                "--Scheduler:HostExpiry=soon",
                "--Scheduler:SweepInterval=-00:00:01",
            ],
            out var errors);

        app.Should().BeNull();
        errors.Should().BeEquivalentTo(
            "Scheduler:FanOutLimit 'many' is not a whole number.",
            "Scheduler:StripeBackToSource 'maybe' is not true or false.",
            "Scheduler:HostExpiry 'soon' is not a time span such as 00:00:10 (hh:mm:ss).",
            "Scheduler:BackToSourceQuota must be between 1 and 64, not 0.",
            "Scheduler:SweepInterval must be positive, not -00:00:01.");
    }

    [Fact]
    public void Build_AgentOnlyKey_IsUnknownInTheSchedulerProcess()
    {
        using var app = Build([.. Loopback, "--Scheduler:Address=http://127.0.0.1:65004", "--Logging:LogLevel:PeerAgent=Debug"], out var errors);

        app.Should().BeNull();
        errors.Should().ContainSingle().Which.Should().StartWith(
            "Scheduler:Address is not a known key; known keys in Scheduler: ListenUrl, FanOutLimit, BackToSourceQuota,",
            "ListenUrl and the scheduling keys share the section; Logging is not the scheduler's to check");
    }

    [Theory]
    [InlineData("ftp://0.0.0.0:65004", "http://0.0.0.0:65005", "Scheduler:ListenUrl 'ftp://0.0.0.0:65004' is not an http(s)://host:port URL.")]
    [InlineData("http://0.0.0.0:65004", "http://scheduler:65005", "Metrics:ListenUrl 'http://scheduler:65005' must name an IP address, localhost or *.")]
    [InlineData("http://0.0.0.0:65004", "http://127.0.0.1:65004", "Metrics:ListenUrl 'http://127.0.0.1:65004' uses the same port as Scheduler:ListenUrl 'http://0.0.0.0:65004'; gRPC and metrics need separate ports.")]
    public void Build_BadListenUrl_NamesTheKey(string grpc, string metrics, string expected)
    {
        using var app = Build(["--Scheduler:ListenUrl=" + grpc, "--Metrics:ListenUrl=" + metrics, "--Tls:AllowInsecure=true"], out var errors);

        app.Should().BeNull();
        errors.Should().Equal(expected);
    }

    [Fact]
    public void HostOptions_Defaults_ListenOnEveryInterfaceOn65004And65005()
    {
        new SchedulerHostOptions().ListenUrl.Should().Be("https://0.0.0.0:65004", "mutual TLS is on by default");
        new SchedulerMetricsOptions().ListenUrl.Should().Be("http://0.0.0.0:65005");
        new SchedulerHostOptionsValidator().Validate(Options.DefaultName, new SchedulerHostOptions()).Succeeded.Should().BeTrue();
        new SchedulerMetricsOptionsValidator().Validate(Options.DefaultName, new SchedulerMetricsOptions()).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void AddPeerAgentScheduler_InvalidOptions_ThrowsNamingTheKeyOfItsSection()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["EmbeddedScheduler:SweepInterval"] = "00:00:00" })
            .Build();
        var services = new ServiceCollection().AddLogging()
            .AddPeerAgentSchedulerOptions(configuration, "EmbeddedScheduler")
            .AddPeerAgentScheduler();
        using var provider = services.BuildServiceProvider();

        var resolve = () => provider.GetRequiredService<SwarmScheduler>();

        resolve.Should().Throw<OptionsValidationException>().WithMessage("*EmbeddedScheduler:SweepInterval must be positive*");
    }

    [Fact]
    public void AddPeerAgentScheduler_ValidOptions_SchedulerRunsOnTheBoundSection()
    {
        // What an agent's embedded scheduler gets: the library binds EmbeddedScheduler:* through its public surface.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["EmbeddedScheduler:FanOutLimit"] = "3" })
            .Build();
        var services = new ServiceCollection().AddLogging()
            .AddPeerAgentSchedulerOptions(configuration, "EmbeddedScheduler")
            .AddPeerAgentScheduler();
        using var provider = services.BuildServiceProvider();

        var scheduler = provider.GetRequiredService<SwarmScheduler>();

        scheduler.Options.FanOutLimit.Should().Be(3);
        scheduler.Options.Should().BeSameAs(provider.GetRequiredService<IOptions<SchedulerOptions>>().Value, "the scheduler runs on the validated instance");
    }

    private static WebApplication? Build(string[] args, out IReadOnlyList<string> errors) => SchedulerApp.Build(args, out errors);
}
