using FluentAssertions;

namespace PeerAgent.Testing;

/// <summary>Assertions shared by tests that run the agent.</summary>
public static class AgentAssertions
{
    /// <summary>Fails when the agent logged an error or critical entry not containing one of <paramref name="allowedSubstrings"/>.</summary>
    public static void ShouldHaveNoErrors(this AgentProcess agent, params string[] allowedSubstrings)
    {
        var unexpected = agent.ErrorLines
            .Where(line => !allowedSubstrings.Any(allowed => line.Contains(allowed, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        unexpected.Should().BeEmpty("the agent must not log errors in this scenario");
    }

    /// <summary>Fails on crit-level entries and unhandled exceptions; for tests where error-level logs are expected.</summary>
    public static void ShouldHaveNoCriticalErrors(this AgentProcess agent)
    {
        agent.ErrorLines
            .Where(line => line.StartsWith("crit:", StringComparison.Ordinal) || line.StartsWith("Unhandled exception", StringComparison.Ordinal)
                || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal))
            .Should().BeEmpty("faults upstream must not crash the agent");
    }
}
