using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// Every object the chart renders, for its defaults and every ci values file, and every object of the kustomize base,
/// is valid against the Kubernetes API schemas (and the cert-manager and Prometheus Operator CRDs), checked offline.
/// </summary>
public sealed class ChartSchemaTests
{
    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Render_ValueSet_EveryObjectMatchesTheApiSchema(string valueSet)
    {
        var yaml = await ChartValueSets.RenderAsync(valueSet);

        var result = await KubernetesSchema.ValidateAsync(yaml);

        result.Errors.Should().BeEmpty("every object of {0} must be accepted by the API server", valueSet);
        result.Objects.Should().Be(KubeObject.Parse(yaml).Count, "the validator checked every rendered object");
    }

    [Fact]
    public async Task Render_HookObjectsWithHooksOn_MatchTheApiSchema()
    {
        // helm-template renders hooks too; make sure the hook DaemonSet, Service and Job are in what was validated.
        var yaml = await ChartValueSets.RenderAsync("defaults");
        var hooks = KubeObject.Parse(yaml).Where(o => o.IsHook).ToList();

        hooks.Select(o => o.Kind).Should().Contain(["DaemonSet", "Service", "Job"]);
        (await KubernetesSchema.ValidateAsync(yaml)).IsValid.Should().BeTrue();
    }

    [Fact]
    public async Task Kustomize_Base_EveryObjectMatchesTheApiSchema()
    {
        foreach (var dir in new[] { "manifests", Path.Combine("manifests", "cleanup") })
        {
            var rendered = await KustomizeTests.KustomizeAsync(Path.Combine(RepoPaths.Root, dir));

            var result = await KubernetesSchema.ValidateAsync(rendered);

            result.Errors.Should().BeEmpty("kubectl apply -k {0} must be accepted by the API server", dir);
            result.Objects.Should().BeGreaterThan(0);
        }
    }

    public static TheoryData<string> ValueSets => ChartValueSets.All;
}
