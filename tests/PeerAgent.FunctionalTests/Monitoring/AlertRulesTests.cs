using System.Text.RegularExpressions;
using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Monitoring;

/// <summary>
/// The alert rules the Helm chart ships, checked by Prometheus' own promtool: they load, their unit tests pass, and
/// those tests cover every alert both firing and silent. Each alert points at a runbook in docs/operations.md.
/// </summary>
public sealed partial class AlertRulesTests
{
    private static readonly TimeSpan PromtoolTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PromtoolCheckRules_AlertsFile_LoadsEveryAlert()
    {
        var alerts = AlertNames();

        var check = await ProcessRunner.RunAsync("promtool", ["check", "rules", MonitoringFiles.Alerts], PromtoolTimeout, check: false);

        check.ExitCode.Should().Be(0, "Prometheus must accept the rule file:\n{0}", check.Output);
        check.Output.Should().Contain($"SUCCESS: {alerts.Count} rules found", "every rule in the file is an alert this test knows of");
    }

    [Fact]
    public async Task PromtoolTestRules_AlertTests_Pass()
    {
        var test = await ProcessRunner.RunAsync("promtool", ["test", "rules", MonitoringFiles.AlertTests], PromtoolTimeout, check: false);

        test.ExitCode.Should().Be(0, "every promtool unit test of the alerts must pass:\n{0}", test.Output);
        test.Output.Should().Contain("SUCCESS");
    }

    [Fact]
    public void AlertTests_EveryAlert_HasAFiringAndASilentCase()
    {
        var text = File.ReadAllText(MonitoringFiles.AlertTests);
        var firing = new HashSet<string>(StringComparer.Ordinal);
        var silent = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in AlertCase().Matches(text))
        {
            (match.Groups["expected"].Value.Trim() == "[]" ? silent : firing).Add(match.Groups["name"].Value);
        }

        var alerts = AlertNames();
        alerts.Should().NotBeEmpty();
        alerts.Should().OnlyContain(a => firing.Contains(a), "every alert needs a promtool case where it fires (firing: {0})", string.Join(", ", firing));
        alerts.Should().OnlyContain(a => silent.Contains(a), "every alert needs a promtool case where it stays silent (silent: {0})", string.Join(", ", silent));
        firing.Concat(silent).Should().OnlyContain(a => alerts.Contains(a), "the tests name only alerts that exist");
    }

    [Fact]
    public void Alerts_Each_HasSeveritySummaryDescriptionAndARunbookInOperationsDoc()
    {
        var rules = RuleBlocks();
        var anchors = OperationsDocAnchors();

        rules.Should().NotBeEmpty();
        foreach (var (name, block) in rules)
        {
            block.Should().MatchRegex(@"\n\s+severity: (critical|warning|info)\n", "{0} needs a severity label", name);
            block.Should().Contain("summary:", "{0} needs a summary", name);
            block.Should().Contain("description:", "{0} needs a description", name);
            var runbook = RunbookUrl().Match(block);
            runbook.Success.Should().BeTrue("{0} needs a runbook_url into docs/operations.md", name);
            anchors.Should().Contain(runbook.Groups["anchor"].Value, "{0}'s runbook_url must point at a heading of docs/operations.md", name);
        }
    }

    private static List<string> AlertNames() => [.. RuleBlocks().Select(r => r.Name)];

    private static List<(string Name, string Block)> RuleBlocks()
    {
        var text = File.ReadAllText(MonitoringFiles.Alerts);
        var matches = AlertRule().Matches(text);
        var rules = new List<(string, string)>();
        for (var i = 0; i < matches.Count; i++)
        {
            var end = i + 1 < matches.Count ? matches[i + 1].Index : text.Length;
            rules.Add((matches[i].Groups["name"].Value, text[matches[i].Index..end]));
        }

        return rules;
    }

    /// <summary>GitHub's anchors of the doc's headings (outside code blocks): lower case, punctuation dropped, spaces as dashes.</summary>
    private static HashSet<string> OperationsDocAnchors()
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var inCode = false;
        foreach (var line in File.ReadLines(MonitoringFiles.OperationsDoc))
        {
            // A '#' inside a fenced block is a PromQL comment, not a heading.
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
            }
            else if (!inCode && line.StartsWith('#'))
            {
                var title = line.TrimStart('#').Trim().ToLowerInvariant();
                anchors.Add(HeadingPunctuation().Replace(title, "").Replace(' ', '-'));
            }
        }

        return anchors;
    }

    [GeneratedRegex(@"^\s*-\s*alert:\s*(?<name>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AlertRule();

    [GeneratedRegex(@"alertname:\s*(?<name>\S+)\s*\n\s*exp_alerts:(?<expected>[^\n]*)")]
    private static partial Regex AlertCase();

    [GeneratedRegex(@"runbook_url:\s*""docs/operations\.md#(?<anchor>[a-z0-9-]+)""")]
    private static partial Regex RunbookUrl();

    [GeneratedRegex(@"[^a-z0-9 _-]")]
    private static partial Regex HeadingPunctuation();
}
