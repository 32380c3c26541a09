using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>The chart's three sources of mTLS certificates: its own generated CA, cert-manager, or a Secret the user made.</summary>
public sealed class ChartTlsTests
{
    private const string Fullname = ChartValueSets.Release;

    [Fact]
    public async Task GeneratedTls_Defaults_OneSecretWithACaAndAnEcdsaCertificateForServerAndClient()
    {
        var objects = await ChartValueSets.ObjectsAsync("defaults");
        var secret = objects.Single(o => o.Kind == "Secret");

        secret.Name.Should().Be($"{Fullname}-tls");
        ((string?)secret.Json["type"]).Should().Be("kubernetes.io/tls");
        var data = secret.Json["data"]!.AsObject();
        data.Select(d => d.Key).Should().BeEquivalentTo(["ca.crt", "tls.crt", "tls.key"]);
        using var ca = X509Certificate2.CreateFromPem(Decode(data, "ca.crt"));
        using var cert = X509Certificate2.CreateFromPem(Decode(data, "tls.crt"), Decode(data, "tls.key"));

        ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.Should().BeTrue();
        cert.GetECDsaPublicKey().Should().NotBeNull("ECDSA P-256 is the cheapest to handshake with");
        cert.GetECDsaPublicKey()!.KeySize.Should().Be(256);
        cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value)
            .Should().Contain(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "the agent presents it as server and as client");
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.Build(cert).Should().BeTrue("the certificate is issued by the CA in ca.crt: {0}",
            string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        MountedSecrets(objects).Should().AllBe(secret.Name, "the agents and the scheduler share the generated certificate");
        objects.Should().NotContain(o => o.Kind == "Certificate" || o.Kind == "Issuer");
    }

    [Fact]
    public async Task CertManager_Enabled_BootstrapsACaIssuerAndIssuesAgentAndSchedulerCertificates()
    {
        var objects = await ChartValueSets.ObjectsAsync("cert-manager-values.yaml");

        objects.Should().NotContain(o => o.Kind == "Secret", "cert-manager writes the Secrets");
        var issuers = objects.Where(o => o.Kind == "Issuer").ToDictionary(o => o.Name);
        issuers.Keys.Should().BeEquivalentTo([$"{Fullname}-selfsigned", $"{Fullname}-ca"]);
        issuers[$"{Fullname}-selfsigned"].Json["spec"]!["selfSigned"].Should().NotBeNull();
        var caSecret = (string?)issuers[$"{Fullname}-ca"].Json["spec"]!["ca"]!["secretName"];

        var certificates = objects.Where(o => o.Kind == "Certificate").ToDictionary(o => o.Name);
        certificates.Keys.Should().BeEquivalentTo([$"{Fullname}-ca", $"{Fullname}-agent", $"{Fullname}-scheduler"]);
        var caCertificate = certificates[$"{Fullname}-ca"].Json["spec"]!;
        ((bool?)caCertificate["isCA"]).Should().BeTrue();
        ((string?)caCertificate["secretName"]).Should().Be(caSecret);
        ((string?)caCertificate["issuerRef"]!["name"]).Should().Be($"{Fullname}-selfsigned");

        foreach (var component in new[] { "agent", "scheduler" })
        {
            var spec = certificates[$"{Fullname}-{component}"].Json["spec"]!;
            Pods.Strings(spec["usages"]).Should().BeEquivalentTo(["server auth", "client auth", "digital signature"]);
            ((string?)spec["privateKey"]!["algorithm"]).Should().Be("ECDSA");
            ((long?)spec["privateKey"]!["size"]).Should().Be(256);
            ((string?)spec["issuerRef"]!["name"]).Should().Be($"{Fullname}-ca");
            ((string?)spec["secretName"]).Should().Be($"{Fullname}-{component}-tls");
        }

        var agentPod = ChartRenderTests.Agent(objects).PodSpec!;
        ((string?)Pods.Volume(agentPod, "tls")["secret"]!["secretName"]).Should().Be($"{Fullname}-agent-tls");
        var schedulerPod = objects.Single(o => o.Kind == "Deployment").PodSpec!;
        ((string?)Pods.Volume(schedulerPod, "tls")["secret"]!["secretName"]).Should().Be($"{Fullname}-scheduler-tls");
        MountedSecrets(objects).Should().NotContain(caSecret, "the CA key stays out of the pods");
    }

    [Fact]
    public async Task CertManager_IssuerRef_UsesItAndCreatesNoIssuer()
    {
        var objects = await ChartValueSets.ObjectsAsync("cert-manager-issuer-values.yaml");

        objects.Should().NotContain(o => o.Kind == "Issuer");
        objects.Where(o => o.Kind == "Certificate").Select(o => $"{o.Json["spec"]!["issuerRef"]!["kind"]}/{o.Json["spec"]!["issuerRef"]!["name"]}")
            .Should().Equal("ClusterIssuer/peeragent-ca", "ClusterIssuer/peeragent-ca");
    }

    [Fact]
    public async Task ExistingSecret_Set_MountedEverywhereAndNothingGenerated()
    {
        var objects = await ChartValueSets.ObjectsAsync("existing-secret-values.yaml");

        objects.Should().NotContain(o => o.Kind == "Secret" || o.Kind == "Certificate" || o.Kind == "Issuer");
        MountedSecrets(objects).Should().HaveCount(2).And.AllBe("peeragent-tls-custom");
    }

    [Theory]
    [MemberData(nameof(ChartValueSets.All), MemberType = typeof(ChartValueSets))]
    public async Task TlsFiles_EveryValueSet_PointIntoTheMountedSecret(string values)
    {
        var objects = await ChartValueSets.ObjectsAsync(values);

        foreach (var workload in objects.Where(o => o.Kind is "DaemonSet" or "Deployment" && !o.IsHook))
        {
            var pod = workload.PodSpec!;
            var container = Pods.Containers(pod, init: false).First();
            var mount = Pods.Mounts(container).Single(m => (string?)m["name"] == "tls");
            var env = Pods.Env(container);
            foreach (var (key, file) in new[] { ("PEERAGENT_Tls__CaFile", "ca.crt"), ("PEERAGENT_Tls__CertFile", "tls.crt"), ("PEERAGENT_Tls__KeyFile", "tls.key") })
            {
                env[key].Should().Be($"{mount["mountPath"]}/{file}", "{0}", workload);
            }

            ((bool?)mount["readOnly"]).Should().BeTrue();
            Pods.Volume(pod, "tls")["secret"].Should().NotBeNull();
        }
    }

    private static IEnumerable<string> MountedSecrets(IEnumerable<KubeObject> objects) =>
        objects.Where(o => o.PodSpec is not null).SelectMany(o => Pods.Volumes(o.PodSpec!))
            .Select(v => (string?)v["secret"]?["secretName"]).OfType<string>();

    private static string Decode(System.Text.Json.Nodes.JsonObject data, string key) =>
        Encoding.ASCII.GetString(Convert.FromBase64String((string)data[key]!));
}
