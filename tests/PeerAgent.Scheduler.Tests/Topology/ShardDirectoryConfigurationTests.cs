using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerAgent.Scheduler.Hosting;
using PeerAgent.Scheduler.Topology;
using PeerAgent.Scheduling.Topology;
using PeerAgent.Testing;

namespace PeerAgent.Scheduler.Tests.Topology;

/// <summary>
/// <c>Kubernetes:ShardService</c> and <c>Kubernetes:Namespace</c>: what is refused at start, the namespace default, and
/// the scheduler process filling <see cref="IShardDirectory"/> from <see cref="FakeKubernetesApi"/> (a fake API server
/// on 127.0.0.1, because no real one can run here) through a kubeconfig.
/// </summary>
public sealed class ShardDirectoryConfigurationTests
{
    private static readonly string[] Loopback = ["--Scheduler:ListenUrl=http://127.0.0.1:0", "--Metrics:ListenUrl=http://127.0.0.1:0", "--Tls:AllowInsecure=true"];
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void Validate_ShardServiceWithModeDisabled_IsAnErrorNamingTheKey()
    {
        var result = new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions { Mode = "disabled", ShardService = "shards", Namespace = "default" });

        result.Failures.Should().ContainSingle().Which.Should().StartWith("Kubernetes:ShardService 'shards' needs the Kubernetes API, but Kubernetes:Mode is disabled")
            .And.Contain("could not find each other");
    }

    [Fact]
    public void Validate_ShardServiceInAutoWithoutAnyApi_IsAnErrorNamingWhatWasLookedFor()
    {
        var result = new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions { ShardService = "shards", Namespace = "default" });

        result.Failures.Should().ContainSingle().Which.Should().StartWith("Kubernetes:ShardService 'shards' is set, but no Kubernetes API configuration was found")
            .And.Contain("KUBERNETES_SERVICE_HOST is not set").And.Contain("could not find each other");
    }

    [Fact]
    public void Validate_NoShardServiceInAutoWithoutAnyApi_IsFine()
    {
        new KubernetesOptionsValidator(Environment()).Validate(null, new KubernetesOptions { Namespace = "default" }).Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("Shards", null, "Kubernetes:ShardService 'Shards' is not a Service name")]
    [InlineData("1shards", null, "Kubernetes:ShardService '1shards' is not a Service name")]
    [InlineData("shards-", null, "Kubernetes:ShardService 'shards-' is not a Service name")]
    [InlineData("shards.x", null, "Kubernetes:ShardService 'shards.x' is not a Service name")]
    [InlineData("shards", "kube_system", "Kubernetes:Namespace 'kube_system' is not a namespace name")]
    [InlineData("shards", "-ns", "Kubernetes:Namespace '-ns' is not a namespace name")]
    public void Validate_BadNames_AreErrorsNamingTheKey(string service, string? @namespace, string expected)
    {
        var options = new KubernetesOptions { Mode = "disabled", ShardService = service, Namespace = @namespace ?? "default" };

        var result = new KubernetesOptionsValidator(Environment()).Validate(null, options);

        result.Failures.Should().Contain(f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("shards", "peeragent")]
    [InlineData("s", "7-ns")]
    public void Validate_GoodNames_AreFine(string service, string @namespace)
    {
        var options = new KubernetesOptions { Mode = "auto", ShardService = service, Namespace = @namespace, Kubeconfig = "/kube/config" };
        var environment = Environment(files: ["/kube/config"]);

        var result = new KubernetesOptionsValidator(environment).Validate(null, options);

        result.Failures?.Should().NotContain(f => f.Contains("ShardService '", StringComparison.Ordinal) || f.Contains("Namespace '", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, null, "peeragent-system")]
    [InlineData(false, null, "default")]
    [InlineData(true, "mine", "mine")]
    public void Namespace_Empty_IsThePodsOwnElseDefault(bool inPod, string? configured, string expected)
    {
        var environment = Environment(files: inPod ? ["/sa/namespace"] : [], text: new() { ["/sa/namespace"] = "peeragent-system\n" });
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kubernetes:Mode"] = "disabled",
            ["Kubernetes:Namespace"] = configured,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddKubernetesTopology(configuration, environment);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<KubernetesOptions>>().Value.Namespace.Should().Be(expected);
    }

    [Fact]
    public async Task RunAsync_ShardServiceWithModeDisabled_Exits2NamingTheKey()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await Program.RunAsync([.. Loopback, "--Kubernetes:Mode=disabled", "--Kubernetes:ShardService=shards"], output, error);

        exit.Should().Be(2);
        error.ToString().Should().Contain("configuration error: Kubernetes:ShardService 'shards' needs the Kubernetes API, but Kubernetes:Mode is disabled");
    }

    [Fact]
    public void Build_NoShardService_IsASingleReplica()
    {
        using var app = SchedulerApp.Build([.. Loopback, "--Kubernetes:Mode=disabled"], out var errors);

        errors.Should().BeEmpty();
        app!.Services.GetRequiredService<IShardDirectory>().Should().BeOfType<SingleReplica>();
    }

    [Fact]
    public async Task Run_ShardServiceWithAKubeconfig_FillsTheShardDirectoryFromEndpointSlices()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.SetNode("n1", "z1", "r1");
        api.SetEndpointSlice("peeragent", "shards-a", "shards", 65004, [("10.0.0.2", true), ("10.0.0.1", true), ("10.0.0.3", false)]);
        api.SetEndpointSlice("peeragent", "other-a", "other", 65004, [("10.0.0.9", true)]);
        using var dir = new TempDir("kubeconfig");
        var kubeconfig = await api.WriteKubeconfigAsync(dir);

        using var app = SchedulerApp.Build(
            [.. Loopback, "--Kubernetes:Kubeconfig=" + kubeconfig, "--Kubernetes:ShardService=shards", "--Kubernetes:Namespace=peeragent"], out var errors);
        errors.Should().BeEmpty();
        var directory = app!.Services.GetRequiredService<IShardDirectory>();
        directory.Should().BeOfType<EndpointSliceInformer>();
        await app.StartAsync();
        try
        {
            // The hosted service runs the informer: http because this scheduler's ListenUrl is http:// (h2c).
            await Wait.UntilAsync(() => directory.Replicas.Count == 2, Deadline, "the scheduler process lists the shard Service's EndpointSlices");
            directory.Replicas.Should().Equal("http://10.0.0.1:65004", "http://10.0.0.2:65004");

            await Wait.UntilAsync(() => api.OpenWatchesFor(FakeKubernetesApi.EndpointSlices) > 0, Deadline, "the EndpointSlice watch is open");
            api.SetEndpointSlice("peeragent", "shards-a", "shards", 65004, [("10.0.0.2", true), ("10.0.0.3", true)]);
            await Wait.UntilAsync(() => directory.Replicas.Contains("http://10.0.0.3:65004"), Deadline, "a replica that became ready joins");
            directory.Replicas.Should().Equal("http://10.0.0.2:65004", "http://10.0.0.3:65004");
            app.Services.GetRequiredService<INodeTopology>().Should().BeOfType<NodeInformer>("Nodes are watched too, through the same client");
            await Wait.UntilAsync(() => api.OpenWatchesFor(FakeKubernetesApi.Nodes) > 0, Deadline, "the Node watch runs beside it");
        }
        finally
        {
            await app.StopAsync();
        }
    }
    private static KubernetesEnvironment Environment(string[]? files = null, Dictionary<string, string>? text = null) => new()
    {
        GetVariable = _ => null,
        ServiceAccountDirectory = "/sa",
        HomeDirectory = "/home/test",
        FileExists = path => files?.Contains(path) == true,
        ReadAllText = path => text?.GetValueOrDefault(path) ?? throw new FileNotFoundException(path),
    };
}
