using PeerAgent.Scheduling.Topology;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Scheduler.Tests.Topology;

/// <summary>
/// Which Kubernetes API the scheduler uses (<c>Kubernetes:Mode</c>, <c>Kubernetes:Kubeconfig</c>) and the error when
/// none is found and one was asked for. The kubeconfig case talks to <see cref="FakeKubernetesApi"/>, a fake API
/// server on 127.0.0.1, because no real one can run here.
/// </summary>
public sealed class KubernetesSourceTests
{
    private static readonly string[] Loopback = ["--Scheduler:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0", "--Tls:AllowInsecure=true"];

    [Fact]
    public void Find_NothingPresent_IsNoneNamingEverythingLookedFor()
    {
        var source = KubernetesSource.Find(new KubernetesOptions(), Environment());

        source.Kind.Should().Be(KubernetesSourceKind.None);
        source.Description.Should().Contain("KUBERNETES_SERVICE_HOST").And.Contain("Kubernetes:Kubeconfig").And.Contain("$KUBECONFIG")
            .And.Contain("/home/test/.kube/config");
    }

    [Fact]
    public void Find_ServiceHostAndToken_IsInCluster()
    {
        var environment = Environment(variables: new() { ["KUBERNETES_SERVICE_HOST"] = "10.0.0.1" }, files: ["/sa/token", "/home/test/.kube/config"]);

        KubernetesSource.Find(new KubernetesOptions(), environment).Kind.Should().Be(KubernetesSourceKind.InCluster, "in-cluster wins over ~/.kube/config");
    }

    [Fact]
    public void Find_ServiceHostWithoutToken_FallsBackToKubeconfigVariable()
    {
        var environment = Environment(
            variables: new() { ["KUBERNETES_SERVICE_HOST"] = "10.0.0.1", ["KUBECONFIG"] = "/missing:/etc/kube.yaml" },
            files: ["/etc/kube.yaml", "/home/test/.kube/config"]);

        var source = KubernetesSource.Find(new KubernetesOptions(), environment);

        source.Kind.Should().Be(KubernetesSourceKind.Kubeconfig);
        source.Path.Should().Be("/etc/kube.yaml", "the first file of $KUBECONFIG that exists");
    }

    [Fact]
    public void Find_Disabled_IsNoneEvenInACluster()
    {
        var environment = Environment(variables: new() { ["KUBERNETES_SERVICE_HOST"] = "10.0.0.1" }, files: ["/sa/token"]);

        KubernetesSource.Find(new KubernetesOptions { Mode = "disabled" }, environment).Kind.Should().Be(KubernetesSourceKind.None);
    }

    [Fact]
    public void Validate_EnabledWithNothingFound_NamesWhatWasLookedFor()
    {
        var result = new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions { Mode = "enabled" });

        result.Failed.Should().BeTrue();
        var error = result.Failures!.Single();
        error.Should().StartWith("Kubernetes:Mode is enabled, but no Kubernetes API configuration was found")
            .And.Contain("KUBERNETES_SERVICE_HOST is not set").And.Contain("$KUBECONFIG is not set").And.Contain("/home/test/.kube/config does not exist");
    }

    [Fact]
    public void Validate_AutoWithNothingFound_IsFine()
    {
        new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions()).Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("on", "Kubernetes:Mode 'on' is not one of auto, enabled, disabled.")]
    [InlineData("auto", "Kubernetes:Kubeconfig '/nowhere/config' does not exist.")]
    public void Validate_BadValues_NameTheKey(string mode, string expected)
    {
        var result = new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions { Mode = mode, Kubeconfig = mode == "auto" ? "/nowhere/config" : null });

        result.Failures.Should().Equal(expected);
    }

    [Fact]
    public async Task RunAsync_EnabledWithoutAnyConfiguration_Exits2WithAClearMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        // This machine has no cluster: no KUBERNETES_SERVICE_HOST, no kubeconfig; $KUBECONFIG is pointed at nothing.
        var exit = await Program.RunAsync([.. Loopback, "--Kubernetes:Mode=enabled"], output, error);

        exit.Should().Be(2);
        error.ToString().Should().Contain("configuration error: Kubernetes:Mode is enabled, but no Kubernetes API configuration was found")
            .And.Contain("KUBERNETES_SERVICE_HOST");
    }

    [Fact]
    public void Build_UnknownKubernetesKey_IsAnError()
    {
        using var app = SchedulerApp.Build([.. Loopback, "--Kubernetes:Mod=auto"], out var errors);

        app.Should().BeNull();
        errors.Should().ContainSingle(e => e.StartsWith("Kubernetes:Mod is not a known key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Build_KubeconfigPointingAtTheFakeServer_RunsTheInformerAgainstIt()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.SetNode("n1", "z1", "r1");
        using var dir = new TempDir("kubeconfig");
        var path = await api.WriteKubeconfigAsync(dir);

        using var app = SchedulerApp.Build([.. Loopback, "--Kubernetes:Mode=enabled", "--Kubernetes:Kubeconfig=" + path], out var errors);

        errors.Should().BeEmpty();
        app!.Services.GetRequiredService<KubernetesSource>().Kind.Should().Be(KubernetesSourceKind.Kubeconfig);
        var informer = app.Services.GetRequiredService<INodeTopology>().Should().BeOfType<NodeInformer>().Subject;
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        (await Task.WhenAny(informer.Synced, Task.Delay(TimeSpan.FromSeconds(20)))).Should().BeSameAs(informer.Synced);
        informer.TryGet("n1", out var n1).Should().BeTrue();
        n1.Zone.Should().Be("z1");
        await stop.CancelAsync();
        await run;
        api.ListRequests.Should().Be(1);
    }

    [Fact]
    public void Build_Disabled_UsesTheAgentsLabels()
    {
        using var app = SchedulerApp.Build([.. Loopback, "--Kubernetes:Mode=disabled"], out var errors);

        errors.Should().BeEmpty();
        app!.Services.GetRequiredService<INodeTopology>().Should().BeOfType<AgentReportedTopology>();
    }

    private static KubernetesEnvironment Environment(Dictionary<string, string>? variables = null, string[]? files = null) => new()
    {
        GetVariable = name => variables?.GetValueOrDefault(name),
        ServiceAccountDirectory = "/sa",
        HomeDirectory = "/home/test",
        FileExists = path => files?.Contains(path) == true,
    };
}
