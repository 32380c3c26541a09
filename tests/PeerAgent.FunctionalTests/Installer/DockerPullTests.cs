using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PeerAgent.Core.Oci;
using PeerAgent.FunctionalTests.Fixtures;
using PeerAgent.Testing;
using Xunit.Abstractions;

namespace PeerAgent.FunctionalTests.Installer;

/// <summary>
/// Docker Engine the seeds' way, for real: the installer resolves the registry's distribution domain to the agent's
/// Docker endpoint in the machine's /etc/hosts and puts its CA in /etc/docker/certs.d (dockerd reads only those), a
/// real dockerd pulls by that domain, and the bytes come through the agent. Names and the address are unique per run,
/// and /etc is put back even when the test fails.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DockerPullTests(OriginFixture fixture, ITestOutputHelper output)
    : FunctionalTestBase(output), IClassFixture<OriginFixture>
{
    private const string HostsFile = "/etc/hosts";
    private const string DockerCertsDir = "/etc/docker/certs.d";
    private const string DockerEtc = "/etc/docker";
    private const string UpstreamBytes = "peeragent_upstream_received_bytes_total";
    private const string ServedBytes = "peeragent_mirror_served_bytes_total";

    private RegistryProcess Origin => fixture.Origin;

    private TestImage Image => fixture.Image;

    public override async Task InitializeAsync()
    {
        DiagnoseOrigin(Origin);
        await Origin.ResetAsync();
    }

    [Fact]
    public async Task Pull_ByDistributionDomain_BytesComeThroughTheAgentAndUninstallRestoresEtc()
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        var pattern = $"{{registry}}.t{token}.peeragent.test";
        var address = new IPAddress([127, (byte)RandomNumberGenerator.GetInt32(1, 255), (byte)RandomNumberGenerator.GetInt32(0, 256), (byte)RandomNumberGenerator.GetInt32(2, 255)]);
        DistributionDomains.TryGetDomain(pattern, Origin.Endpoint, out var domain, out var error).Should().BeTrue(error);
        var work = Own(new TempDir("docker-node"));
        var tlsDir = Path.Join(work.Path, "docker-tls");
        string[] common =
        [
            "--runtime", "docker", "--root", "/", "--registry", Origin.Endpoint, "--docker-address", address.ToString(), "--domain-pattern", pattern,
            "--state-dir", Path.Join(work.Path, "state"), "--docker-tls-dir", tlsDir,
        ];
        var etc = EtcSnapshot.Take(domain!);
        try
        {
            var install = await RunInstallerAsync(["install", .. common]);
            install.ExitCode.Should().Be(0, install.ToString());
            File.ReadAllText(HostsFile).Should().Contain($"{address} {domain}\n");

            var agent = await StartAgentAsync(new AgentOptions
            {
                DefaultRegistry = Origin.Endpoint,
                Registries = [new AgentRegistry(Origin.Endpoint, PlainHttp: true, Public: true)],
                ExtraArgs =
                [
                    "--DockerMirror:Enabled=true",
                    $"--DockerMirror:ListenAddress={address}",
                    "--DockerMirror:Port=443",
                    $"--DockerMirror:DomainPattern={pattern}",
                    $"--DockerMirror:CertificateDir={tlsDir}",
                ],
            });
            await ServedCertificateShouldChainToTheCaInCertsDirAsync(address, domain!);

            var docker = Own(await DockerEngineProcess.StartAsync());
            Diagnose("dockerd log (tail)", () => docker.Process.Tail(40));
            var reference = $"{domain}/{Image.Repository}:{Image.Tag}";
            Output.WriteLine((await docker.PullAsync(reference)).ToString());

            var images = await docker.CliAsync(["image", "inspect", "--format", "{{json .RepoDigests}}", reference]);
            images.Output.Should().Contain(Image.ManifestDigest, "dockerd stored the image under the domain, by the manifest the origin holds");
            var metrics = await agent.GetMetricsAsync();
            metrics.Sum(UpstreamBytes, ("kind", "blob")).Should().Be(Image.TotalBlobBytes, "the agent fetched every blob from the origin\n{0}", metrics.Describe("peeragent_"));
            metrics.Sum(ServedBytes, ("kind", "blob")).Should().BeGreaterThanOrEqualTo(Image.TotalBlobBytes, "dockerd got every blob byte from the agent");
            await Origin.WaitForQuietAsync();
            Origin.BlobBytesByDigest.Should().BeEquivalentTo(
                Image.Blobs.ToDictionary(b => b.Digest, b => b.Size),
                "each blob left the origin once, to the agent\n{0}", Origin.DescribeRequests());
            Origin.Requests.Should().NotContain(r => r.UserAgent.Contains("docker/", StringComparison.Ordinal), "dockerd never reached the origin itself");
            agent.ShouldHaveNoErrors();

            var uninstall = await RunInstallerAsync(["uninstall", .. common]);
            uninstall.ExitCode.Should().Be(0, uninstall.ToString());
            etc.ShouldBeUnchanged();
            Directory.Exists(tlsDir).Should().BeFalse("uninstall removed the CA and certificates it created, and their directory");
        }
        finally
        {
            etc.RestoreIfChanged(Output);
        }
    }

    private static Task<ProcessResult> RunInstallerAsync(string[] args) =>
        ProcessRunner.RunAsync(RepoPaths.DotnetHost, [RepoPaths.InstallerDll, .. args], TimeSpan.FromMinutes(1), check: false);

    // dockerd does not verify certificates of registries on loopback addresses, so check here that what the agent serves
    // for the domain verifies against the CA the installer put in certs.d, as a verifying client would.
    private static async Task ServedCertificateShouldChainToTheCaInCertsDirAsync(IPAddress address, string domain)
    {
        using var ca = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Join(DockerCertsDir, domain, "ca.crt")));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address, 443);
        await using var tls = new SslStream(tcp.GetStream());
        var verified = false;
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = domain,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                verified = certificate is not null
                    && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                    && chain.Build(new X509Certificate2(certificate));
                return verified;
            },
        });
        verified.Should().BeTrue("the agent serves {0} with a certificate for that name from the CA in {1}/{0}/ca.crt", domain, DockerCertsDir);
    }

    /// <summary>The machine's /etc/hosts and /etc/docker (certs.d) before the test, to compare with and to put back on failure.</summary>
    private sealed class EtcSnapshot
    {
        private readonly string _domain;
        private readonly byte[] _hosts;
        private readonly SortedDictionary<string, string> _certs;
        private readonly bool _certsDirExisted;

        private EtcSnapshot(string domain)
        {
            _domain = domain;
            _hosts = File.ReadAllBytes(HostsFile);
            _certsDirExisted = Directory.Exists(DockerCertsDir);
            _certs = Certs();
        }

        public static EtcSnapshot Take(string domain) => new(domain);

        public void ShouldBeUnchanged()
        {
            File.ReadAllBytes(HostsFile).Should().Equal(_hosts, "uninstall leaves /etc/hosts byte for byte as it was");
            Directory.Exists(DockerCertsDir).Should().Be(_certsDirExisted);
            Certs().Should().Equal(_certs, "uninstall leaves /etc/docker/certs.d as it was, and dockerd wrote nothing in /etc/docker");
        }

        // Only undoes what carries this run's unique domain, so nothing another process did to /etc is lost.
        public void RestoreIfChanged(ITestOutputHelper output)
        {
            var hosts = File.ReadAllText(HostsFile);
            if (hosts.Contains(_domain, StringComparison.Ordinal))
            {
                using var stream = new FileStream(HostsFile, FileMode.Open, FileAccess.Write);
                stream.Write(_hosts);
                stream.SetLength(_hosts.Length);
                output.WriteLine($"restored {HostsFile} after a failure");
            }

            var domainDir = Path.Join(DockerCertsDir, _domain);
            if (Directory.Exists(domainDir))
            {
                Directory.Delete(domainDir, recursive: true);
                output.WriteLine($"removed {domainDir} after a failure");
            }

            if (!_certsDirExisted && Directory.Exists(DockerCertsDir) && !Directory.EnumerateFileSystemEntries(DockerCertsDir).Any())
            {
                Directory.Delete(DockerCertsDir);
            }
        }

        private static SortedDictionary<string, string> Certs()
        {
            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (!Directory.Exists(DockerEtc))
            {
                return files;
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(DockerEtc, "*", SearchOption.AllDirectories))
            {
                files[entry] = File.Exists(entry)
                    ? string.Create(CultureInfo.InvariantCulture, $"{File.GetUnixFileMode(entry)} {Convert.ToBase64String(File.ReadAllBytes(entry))}")
                    : "dir";
            }

            return files;
        }
    }
}
