using System.Text.RegularExpressions;
using System.Xml.Linq;
using PeerAgent.Testing;
using YamlDotNet.RepresentationModel;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>values.schema.json and the chart's own checks refuse bad values; every value is documented; versions agree.</summary>
public sealed partial class ChartValuesTests
{
    [Theory]
    [InlineData("agent.store.quota=abc", "agent.store.quota")]
    [InlineData("agent.store.quota=20GB", "agent.store.quota")]
    [InlineData("agnet.dataDir=/data", "agnet")]
    [InlineData("image.pullPolicy=Sometimes", "image.pullPolicy")]
    [InlineData("scheduler.replicas=0", "scheduler.replicas")]
    [InlineData("containerd.configPath=relative/certs.d", "containerd.configPath")]
    [InlineData("agent.runAsUser=0", "agent.runAsUser")]
    public async Task Schema_BadValue_RefusedNamingTheKey(string set, string key)
    {
        var result = await HelmTemplate.RunAsync(ChartValueSets.Args("defaults", "--set", set));

        result.ExitCode.Should().Be(1, "--set {0} must be refused: {1}", set, result.Output);
        result.Error.Should().Contain(key);
        result.Output.Should().BeEmpty();
    }

    [Theory]
    [InlineData("containerd.enabled=false", "enable at least one runtime")]
    [InlineData("certManager.enabled=true,tls.existingSecret=mine", "exclusive")]
    [InlineData("agent.dataDir=/var/lib/peeragent", "overlap")]
    [InlineData("crio.enabled=true,crio.registries={_default}", "crio.registries")]
    [InlineData("docker.enabled=true,docker.registries={_default}", "docker.registries")]
    public async Task Render_ContradictoryValues_FailsSayingWhy(string set, string message)
    {
        var result = await HelmTemplate.RunAsync(ChartValueSets.Args("defaults", "--set", set));

        result.ExitCode.Should().Be(1, "--set {0} must be refused", set);
        result.Error.Should().Contain(message);
    }

    [Fact]
    public void ChartAppVersion_Always_IsTheProductVersion()
    {
        var version = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props")).Descendants("Version").Single().Value;

        var chart = Scalars(Path.Combine(HelmTemplate.Chart, "Chart.yaml"));
        chart["appVersion"].Should().Be(version, "image tags default to the chart's appVersion, which must be the version the binaries report");
        chart["apiVersion"].Should().Be("v2");
    }

    [Fact]
    public void ValuesReadme_Always_DocumentsEveryValueAndNoOther()
    {
        var leaves = Leaves(Path.Combine(HelmTemplate.Chart, "values.yaml"));
        var readme = File.ReadAllText(Path.Combine(HelmTemplate.Chart, "README.md"));
        var documented = ReadmeKey().Matches(readme).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        documented.Should().NotBeEmpty();
        leaves.Should().OnlyContain(l => documented.Any(d => l == d || l.StartsWith(d + ".", StringComparison.Ordinal)),
            "every value in values.yaml has a row in the README's values table (missing: {0})",
            string.Join(", ", leaves.Where(l => !documented.Any(d => l == d || l.StartsWith(d + ".", StringComparison.Ordinal)))));
        documented.Should().OnlyContain(d => leaves.Any(l => l == d || l.StartsWith(d + ".", StringComparison.Ordinal)),
            "the README documents only values that exist (unknown: {0})",
            string.Join(", ", documented.Where(d => !leaves.Any(l => l == d || l.StartsWith(d + ".", StringComparison.Ordinal)))));
    }

    [Fact]
    public void ValuesYaml_EveryKey_HasACommentAbove()
    {
        var lines = File.ReadAllLines(Path.Combine(HelmTemplate.Chart, "values.yaml"));
        var undocumented = new List<string>();
        var parents = new Stack<(int Indent, string Key)>();
        for (var i = 1; i < lines.Length; i++)
        {
            var match = ValuesKey().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var indent = match.Groups["indent"].Length;
            while (parents.Count > 0 && parents.Peek().Indent >= indent)
            {
                parents.Pop();
            }

            // Inside a Kubernetes object (resources), keys are Kubernetes' own.
            var inKubernetesObject = parents.Any(p => p.Key == "resources");
            parents.Push((indent, match.Groups["key"].Value));
            if (!inKubernetesObject && !lines[i - 1].TrimStart().StartsWith('#') && !IsSectionWithDocumentedChildren(lines, i))
            {
                undocumented.Add(lines[i].Trim());
            }
        }

        undocumented.Should().BeEmpty("every value in values.yaml says what it does");
    }

    // A mapping key whose own line has no comment is fine when it only groups documented keys (e.g. "store:").
    private static bool IsSectionWithDocumentedChildren(string[] lines, int i) =>
        lines[i].TrimEnd().EndsWith(':') && i + 1 < lines.Length && lines[i + 1].TrimStart().StartsWith('#');

    private static Dictionary<string, string?> Scalars(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return ((YamlMappingNode)stream.Documents[0].RootNode).Children
            .Where(c => c.Value is YamlScalarNode)
            .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value, StringComparer.Ordinal);
    }

    private static List<string> Leaves(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        var leaves = new List<string>();
        Walk(stream.Documents[0].RootNode, "", leaves);
        return leaves;
    }

    private static void Walk(YamlNode node, string prefix, List<string> leaves)
    {
        if (node is YamlMappingNode mapping && mapping.Children.Count > 0)
        {
            foreach (var child in mapping.Children)
            {
                var key = ((YamlScalarNode)child.Key).Value!;
                Walk(child.Value, prefix.Length == 0 ? key : $"{prefix}.{key}", leaves);
            }
        }
        else
        {
            leaves.Add(prefix);
        }
    }

    [GeneratedRegex(@"^\| `([A-Za-z0-9_.]+)` \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeKey();

    [GeneratedRegex(@"^(?<indent> *)(?<key>[A-Za-z][A-Za-z0-9_]*):")]
    private static partial Regex ValuesKey();
}
