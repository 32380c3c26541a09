using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>One rendered Kubernetes object, as JSON, so tests navigate it the way the API server would see it.</summary>
public sealed partial class KubeObject
{
    private KubeObject(JsonObject json) => Json = json;

    public JsonObject Json { get; }

    public string Kind => (string?)Json["kind"] ?? "";

    public string Name => (string?)Json["metadata"]?["name"] ?? "";

    public string? Namespace => (string?)Json["metadata"]?["namespace"];

    public JsonObject Labels => Json["metadata"]?["labels"] as JsonObject ?? [];

    public JsonObject Annotations => Json["metadata"]?["annotations"] as JsonObject ?? [];

    public bool IsHook => Annotations.ContainsKey("helm.sh/hook");

    /// <summary>The pod template of a workload (DaemonSet, Deployment, Job), else null.</summary>
    public JsonObject? PodSpec => Json["spec"]?["template"]?["spec"] as JsonObject;

    public override string ToString() => $"{Kind}/{Name}";

    /// <summary>The object with its keys sorted at every level: two renders of the same object give the same text.</summary>
    public string Canonical() => Sort(Json)!.ToJsonString();

    /// <summary>Every object of a multi-document YAML stream; documents without a mapping (comments only) are skipped.</summary>
    public static IReadOnlyList<KubeObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var objects = new List<KubeObject>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlMappingNode mapping)
            {
                objects.Add(new KubeObject((JsonObject)Convert(mapping)!));
            }
        }

        return objects;
    }

    /// <summary>A YAML tree as JSON, typing plain scalars as Kubernetes' decoder does (null, booleans, numbers, octal).</summary>
    public static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", Convert(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase));
        }

        // YAML 1.1, as Kubernetes' decoder reads it: 0440 is octal (a Secret volume's defaultMode).
        if (Octal().IsMatch(text))
        {
            return JsonValue.Create(System.Convert.ToInt64(text, 8));
        }

        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(text);
    }

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sort).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    [GeneratedRegex("^0[0-7]+$")]
    private static partial Regex Octal();

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
