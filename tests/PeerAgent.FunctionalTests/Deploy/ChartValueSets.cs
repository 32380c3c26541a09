using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// The value sets the chart is rendered with in tests: its defaults and every <c>charts/peeragent/ci/*-values.yaml</c>
/// (the common setups the chart README describes). Other test classes (schema validation) render the same sets.
/// </summary>
public static class ChartValueSets
{
    public const string Release = "peeragent";
    public const string Namespace = "peeragent";

    /// <summary>"defaults", then the ci values files by name, e.g. "docker-values.yaml".</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "defaults",
        .. Directory.GetFiles(Path.Combine(HelmTemplate.Chart, "ci"), "*-values.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!,
    ];

    /// <summary>For xunit theories over every value set.</summary>
    public static TheoryData<string> All => [.. Names];

    /// <summary>The helm-template arguments that render <paramref name="name"/>, plus <paramref name="extra"/>.</summary>
    public static IReadOnlyList<string> Args(string name, params string[] extra) =>
    [
        Release,
        HelmTemplate.Chart,
        "--namespace",
        Namespace,
        .. name == "defaults" ? [] : new[] { "-f", Path.Combine(HelmTemplate.Chart, "ci", name) },
        .. extra,
    ];

    /// <summary>The multi-document YAML of <paramref name="name"/>.</summary>
    public static Task<string> RenderAsync(string name, params string[] extra) => HelmTemplate.RenderAsync(Args(name, extra));

    /// <summary>The objects of <paramref name="name"/>.</summary>
    public static async Task<IReadOnlyList<KubeObject>> ObjectsAsync(string name, params string[] extra) =>
        KubeObject.Parse(await RenderAsync(name, extra));
}
