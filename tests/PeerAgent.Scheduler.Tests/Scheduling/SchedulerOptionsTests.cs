using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

public class SchedulerOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        new SchedulerOptions().Validate().Should().BeEmpty();
    }

    [Theory]
    [InlineData("FanOutLimit", "Scheduler:FanOutLimit must be between 1 and 1024, not 0.")]
    [InlineData("BackToSourceQuota", "Scheduler:BackToSourceQuota must be between 1 and 64, not 0.")]
    [InlineData("ZoneLeaders", "Scheduler:ZoneLeaders must be between 0 and 64, not -1.")]
    [InlineData("CandidateParentCount", "Scheduler:CandidateParentCount must be between 1 and 64, not 65.")]
    [InlineData("CandidateSampleSize", "Scheduler:CandidateSampleSize must be between 1 and 4096, not -1.")]
    [InlineData("ParentFailureLimit", "Scheduler:ParentFailureLimit must be between 1 and 1000, not 0.")]
    [InlineData("HostExpiry", "Scheduler:HostExpiry must be positive, not 00:00:00.")]
    [InlineData("BackToSourceStallTimeout", "Scheduler:BackToSourceStallTimeout must be positive, not -00:00:01.")]
    [InlineData("WaitRetryInterval", "Scheduler:WaitRetryInterval must be positive, not 00:00:00.")]
    [InlineData("SweepInterval", "Scheduler:SweepInterval must be positive, not 00:00:00.")]
    [InlineData("SampleBelowParents", "Scheduler:CandidateSampleSize (4) must be at least Scheduler:CandidateParentCount (8).")]
    public void Validate_BadValue_NamesTheKeyAndTheValue(string key, string expected)
    {
        var options = new SchedulerOptions();
        switch (key)
        {
            case "FanOutLimit": options.FanOutLimit = 0; break;
            case "BackToSourceQuota": options.BackToSourceQuota = 0; break;
            case "ZoneLeaders": options.ZoneLeaders = -1; break;
            case "CandidateParentCount": options.CandidateParentCount = 65; break;
            case "CandidateSampleSize": options.CandidateSampleSize = -1; break;
            case "ParentFailureLimit": options.ParentFailureLimit = 0; break;
            case "HostExpiry": options.HostExpiry = TimeSpan.Zero; break;
            case "BackToSourceStallTimeout": options.BackToSourceStallTimeout = TimeSpan.FromSeconds(-1); break;
            case "WaitRetryInterval": options.WaitRetryInterval = TimeSpan.Zero; break;
            case "SweepInterval": options.SweepInterval = TimeSpan.Zero; break;
            default: options.CandidateParentCount = 8; options.CandidateSampleSize = 4; break;
        }

        options.Validate().Should().Equal(expected);
    }

    [Fact]
    public void Validate_SeveralBadValues_ReportsEveryOne()
    {
        var options = new SchedulerOptions { FanOutLimit = 0, HostExpiry = TimeSpan.Zero };

        options.Validate().Should().HaveCount(2);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingTheKey()
    {
        var options = new SchedulerOptions { BackToSourceQuota = 100 };

        var construct = () => new SwarmScheduler(options, TimeProvider.System, NullLogger<SwarmScheduler>.Instance);

        construct.Should().Throw<InvalidOperationException>().WithMessage("*Scheduler:BackToSourceQuota*100*");
    }
}
