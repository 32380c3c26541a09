using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduler.Scheduling;

namespace PeerAgent.Scheduler.Tests.Hosting;

public sealed class SchedulerConfigurationTests
{
    [Fact]
    public void Bind_NothingConfigured_DefaultsWithoutErrors()
    {
        var options = SchedulerConfiguration.Bind(Config(), out var errors);

        errors.Should().BeEmpty();
        options.Should().BeEquivalentTo(new SchedulerOptions());
        options.SweepInterval.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Bind_EveryKey_IsRead()
    {
        var options = SchedulerConfiguration.Bind(
            Config(
                ("Scheduler:FanOutLimit", "3"),
                ("Scheduler:BackToSourceQuota", "2"),
                ("Scheduler:StripeBackToSource", "true"),
                ("Scheduler:CandidateParentCount", "5"),
                ("Scheduler:CandidateSampleSize", "100"),
                ("Scheduler:ParentFailureLimit", "7"),
                ("Scheduler:HostExpiry", "00:00:30"),
                ("Scheduler:BackToSourceStallTimeout", "00:01:00"),
                ("Scheduler:WaitRetryInterval", "00:00:00.250"),
                ("Scheduler:SweepInterval", "00:00:02"),
                ("Scheduler:Address", "ignored: the agent's own key")),
            out var errors);

        errors.Should().BeEmpty();
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
    }

    [Fact]
    public void Bind_UnreadableAndOutOfRangeValues_ReportsEveryOneByKey()
    {
        SchedulerConfiguration.Bind(
            Config(
                ("Scheduler:FanOutLimit", "many"),
                ("Scheduler:BackToSourceQuota", "0"),
                ("Scheduler:StripeBackToSource", "maybe"),
                ("Scheduler:HostExpiry", "soon"),
                ("Scheduler:SweepInterval", "-00:00:01")),
            out var errors);

        errors.Should().BeEquivalentTo(
            "Scheduler:FanOutLimit 'many' is not a whole number.",
            "Scheduler:StripeBackToSource 'maybe' is not true or false.",
            "Scheduler:HostExpiry 'soon' is not a time span such as 00:00:10 (hh:mm:ss).",
            "Scheduler:BackToSourceQuota must be between 1 and 64, not 0.",
            "Scheduler:SweepInterval must be positive, not -00:00:01.");
    }

    [Theory]
    [InlineData("ftp://0.0.0.0:65004", "http://0.0.0.0:65005", "Scheduler:ListenUrl 'ftp://0.0.0.0:65004' is not an http(s)://host:port URL.")]
    [InlineData("http://0.0.0.0:65004", "http://scheduler:65005", "Metrics:ListenUrl 'http://scheduler:65005' must name an IP address, localhost or *.")]
    [InlineData("http://0.0.0.0:65004", "http://127.0.0.1:65004", "Metrics:ListenUrl 'http://127.0.0.1:65004' uses the same port as Scheduler:ListenUrl 'http://0.0.0.0:65004'; gRPC and metrics need separate ports.")]
    public void HostOptions_BadListenUrl_NamesTheKey(string grpc, string metrics, string expected)
    {
        var options = SchedulerHostOptions.Bind(Config(("Scheduler:ListenUrl", grpc), ("Metrics:ListenUrl", metrics)));

        options.Validate(out _, out _).Should().Equal(expected);
    }

    [Fact]
    public void HostOptions_Defaults_ListenOnEveryInterfaceOn65004And65005()
    {
        var options = SchedulerHostOptions.Bind(Config());

        options.Validate(out var grpc, out var metrics).Should().BeEmpty();
        grpc.Should().Be(new PeerAgent.Core.Hosting.ListenEndpoint(null, 65004));
        metrics.Should().Be(new PeerAgent.Core.Hosting.ListenEndpoint(null, 65005));
    }

    [Fact]
    public void AddPeerAgentScheduler_InvalidOptions_ThrowsNamingTheKey()
    {
        var services = new ServiceCollection();

        var add = () => services.AddPeerAgentScheduler(new SchedulerOptions { SweepInterval = TimeSpan.Zero });

        add.Should().Throw<InvalidOperationException>().WithMessage("*Scheduler:SweepInterval*");
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
}
