using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Monitoring;

/// <summary>Where the alert rules, their promtool tests and the dashboard live (the Helm chart ships the first and last).</summary>
internal static class MonitoringFiles
{
    public static string Alerts => Path.Combine(RepoPaths.Root, "charts", "peeragent", "files", "alerts.yaml");

    public static string AlertTests => Path.Combine(RepoPaths.Root, "tests", "monitoring", "alerts.test.yaml");

    public static string Dashboard => Path.Combine(RepoPaths.Root, "charts", "peeragent", "files", "dashboard.json");

    public static string OperationsDoc => Path.Combine(RepoPaths.Root, "docs", "operations.md");
}
