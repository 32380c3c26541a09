using System.Globalization;
using Microsoft.Extensions.Configuration;
using PeerAgent.Scheduler.Scheduling;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>
/// Reads <see cref="SchedulerOptions"/> from the <c>Scheduler</c> section, for the scheduler process and for an agent
/// that embeds the scheduler. Every unreadable or out-of-range value is reported, each naming its key, instead of
/// stopping at the first one as the configuration binder does. Keys the options do not know are left alone (the agent
/// keeps its own scheduler client keys in the same section).
/// </summary>
internal static class SchedulerConfiguration
{
    /// <summary>Binds and validates; <paramref name="errors"/> is empty when the options are usable.</summary>
    public static SchedulerOptions Bind(IConfiguration configuration, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SchedulerOptions.Section);
        var options = new SchedulerOptions();
        var found = new List<string>();
        options.FanOutLimit = ReadInt(section, nameof(SchedulerOptions.FanOutLimit), options.FanOutLimit, found);
        options.BackToSourceQuota = ReadInt(section, nameof(SchedulerOptions.BackToSourceQuota), options.BackToSourceQuota, found);
        options.StripeBackToSource = ReadBool(section, nameof(SchedulerOptions.StripeBackToSource), options.StripeBackToSource, found);
        options.CandidateParentCount = ReadInt(section, nameof(SchedulerOptions.CandidateParentCount), options.CandidateParentCount, found);
        options.CandidateSampleSize = ReadInt(section, nameof(SchedulerOptions.CandidateSampleSize), options.CandidateSampleSize, found);
        options.ParentFailureLimit = ReadInt(section, nameof(SchedulerOptions.ParentFailureLimit), options.ParentFailureLimit, found);
        options.HostExpiry = ReadTimeSpan(section, nameof(SchedulerOptions.HostExpiry), options.HostExpiry, found);
        options.BackToSourceStallTimeout = ReadTimeSpan(section, nameof(SchedulerOptions.BackToSourceStallTimeout), options.BackToSourceStallTimeout, found);
        options.WaitRetryInterval = ReadTimeSpan(section, nameof(SchedulerOptions.WaitRetryInterval), options.WaitRetryInterval, found);
        options.SweepInterval = ReadTimeSpan(section, nameof(SchedulerOptions.SweepInterval), options.SweepInterval, found);

        // A value that did not parse kept its default, so range checks never report it twice.
        found.AddRange(options.Validate());
        errors = found;
        return options;
    }

    private static int ReadInt(IConfigurationSection section, string key, int fallback, List<string> errors)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add($"{SchedulerOptions.Section}:{key} '{text}' is not a whole number.");
        return fallback;
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, List<string> errors)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        errors.Add($"{SchedulerOptions.Section}:{key} '{text}' is not true or false.");
        return fallback;
    }

    private static TimeSpan ReadTimeSpan(IConfigurationSection section, string key, TimeSpan fallback, List<string> errors)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add($"{SchedulerOptions.Section}:{key} '{text}' is not a time span such as 00:00:10 (hh:mm:ss).");
        return fallback;
    }
}
