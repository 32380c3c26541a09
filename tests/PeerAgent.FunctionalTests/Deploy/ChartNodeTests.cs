using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>
/// The chart's node pod as this machine can run it (<see cref="RenderedNode"/>): the installer init containers with
/// the exact arguments the chart renders, the agent with the exact environment, and the post-delete hook's uninstall
/// containers. This is what catches a flag the installer does not know, a key the agent refuses, a path the chart
/// does not mount, or a hook that does not undo the install; rendering alone cannot. No kubelet runs here.
/// </summary>
public sealed class ChartNodeTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";

    /// <summary>
    /// The Secrets and ConfigMaps the ci values files expect the user to have created: private-registry-values.yaml's
    /// node credentials, docker-values.yaml's registry CA.
    /// </summary>
    private static readonly Dictionary<string, IReadOnlyDictionary<string, string>> UserSecrets = new()
    {
        ["registry-auth"] = new Dictionary<string, string> { ["password"] = "not-a-real-password" },
        ["registry-ca"] = new Dictionary<string, string> { ["ca.crt"] = File.ReadAllText(TestCertificates.Shared.CaFile) },
    };

    public static TheoryData<string> ValueSets => ChartValueSets.All;

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task NodePod_ValueSet_InstallsStartsTheAgentAndTheHookUndoesIt(string valueSet)
    {
        using var node = new RenderedNode(await ChartValueSets.ObjectsAsync(valueSet), UserSecrets);
        PrepareNode(node);
        var before = node.Snapshot();

        var installers = RenderedNode.Installers(node.Agent);
        installers.Should().NotBeEmpty();
        foreach (var installer in installers)
        {
            var snapshot = node.Snapshot();
            var run = await node.RunInstallerAsync(installer);
            run.ExitCode.Should().Be(0, "{0} of {1} must succeed:\n{2}", installer["name"], valueSet, run);
            var writable = RenderedNode.WritableHostPaths(installer);
            RenderedNode.Changed(snapshot, node.Snapshot()).Should().OnlyContain(
                path => writable.Any(w => path == w || path.StartsWith(w + "/", StringComparison.Ordinal)),
                "{0} may write only below its writable mounts [{1}]", installer["name"], string.Join(", ", writable));
        }

        var installed = node.Snapshot();
        foreach (var installer in installers)
        {
            (await node.RunInstallerAsync(installer)).ExitCode.Should().Be(0);
        }

        RenderedNode.Changed(installed, node.Snapshot()).Should().BeEmpty("a restarted pod runs its init containers again, which must change nothing");

        await using (await StartAgentAsync(node))
        {
            var quota = Pods.Env(Pods.Container(node.Agent.PodSpec!, "agent"))["PEERAGENT_Store__QuotaBytes"];
            (await OperationsProbe.GetMetricsAsync(node.MetricsUrl)).Sum("peeragent_store_quota_bytes")
                .Should().Be(double.Parse(quota!, System.Globalization.CultureInfo.InvariantCulture), "the chart's agent.store.quota reaches the agent");
        }

        foreach (var uninstaller in RenderedNode.Installers(node.Cleanup))
        {
            var run = await node.RunInstallerAsync(uninstaller);
            run.ExitCode.Should().Be(0, "{0} of the post-delete hook must succeed:\n{1}", uninstaller["name"], run);
        }

        var after = node.Snapshot();
        RenderedNode.Changed(before, after).Where(p => !p.StartsWith("/var/lib/peeragent/", StringComparison.Ordinal))
            .Should().BeEmpty("the post-delete hook puts every runtime file back byte for byte");
    }

    [Fact]
    public async Task NodePod_Defaults_ContainerdPullsThroughTheAgentTheChartConfigured()
    {
        var origin = fixture.Origin;
        DiagnoseOrigin(origin);
        await origin.ResetAsync();
        using var node = new RenderedNode(await ChartValueSets.ObjectsAsync(
            "defaults",
            "--set", $"registries[0].host={origin.Endpoint}",
            "--set", "registries[0].plainHttp=true",
            "--set", "registries[0].public=true"));
        PrepareNode(node);
        foreach (var installer in RenderedNode.Installers(node.Agent))
        {
            var run = await node.RunInstallerAsync(installer);
            run.ExitCode.Should().Be(0, run.ToString());
        }

        await using var agent = await StartAgentAsync(node);
        var containerd = await StartContainerdAsync();
        Output.WriteLine((await containerd.PullAsync(fixture.Image.Reference, node.OnNode("/etc/containerd/certs.d"))).ToString());

        var metrics = await OperationsProbe.GetMetricsAsync(node.MetricsUrl);
        metrics.Sum(UpstreamBytes, ("kind", "blob")).Should().Be(fixture.Image.TotalBlobBytes, "every blob came through the agent the chart configured\n{0}", metrics.Describe("peeragent_"));
        await origin.WaitForQuietAsync();
        origin.BlobBytesServed.Should().Be(fixture.Image.TotalBlobBytes, "the origin sent one copy, to the agent");
    }

    /// <summary>A node as a cluster has it before the chart: containerd's config.toml naming its certs.d, a hosts file.</summary>
    private static void PrepareNode(RenderedNode node)
    {
        foreach (var installer in RenderedNode.Installers(node.Agent))
        {
            var args = Pods.Args(installer);
            if (Pods.Flag(args, "--containerd-config") is { } config)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(node.OnNode(config))!);
                var certsDir = Pods.Flag(args, "--certs-dir") ?? "/etc/containerd/certs.d";
                var configPath = args.Contains("--edit-containerd-config") ? "" : $"\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"{certsDir}\"\n";
                File.WriteAllText(node.OnNode(config), "version = 2\n" + configPath);
            }

            if (Pods.Flag(args, "--hosts-file") is { } hosts)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(node.OnNode(hosts))!);
                File.WriteAllText(node.OnNode(hosts), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
            }
        }
    }

    private async Task<AgentHandle> StartAgentAsync(RenderedNode node)
    {
        var tls = node.GeneratedTls() ?? TestCertificates.Shared.Issue(RenderedNode.NodeName);
        var scheduler = await StartSchedulerAsync(new SchedulerProcessOptions { Tls = tls });
        var process = node.StartAgent(tls, scheduler.Address);
        var handle = new AgentHandle(process);
        try
        {
            await OperationsProbe.WaitUntilReadyAsync(process, node.MetricsUrl, "agent on the chart's environment", AgentProcess.ReadyTimeout);
            await Wait.UntilAsync(
                () => process.Output.Contains($"Scheduler {scheduler.Address} answers", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30),
                "the agent reaches the scheduler over mutual TLS with the chart's certificate layout");
            LogEntries.Errors(process.Lines).Should().BeEmpty("the agent started on the chart's environment logs no error");
            return handle;
        }
        catch
        {
            Output.WriteLine(process.Tail());
            await handle.DisposeAsync();
            throw;
        }
    }

    private sealed class AgentHandle(TestProcess process) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            process.Kill();
            await process.WaitForExitAsync(TimeSpan.FromSeconds(10));
            process.Dispose();
        }
    }
}
