using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerAgent.Agent.Hosting;
using PeerAgent.Agent.Mirror;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting.Tls;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Mirror;

/// <summary>The agent's Docker endpoint, in process: SNI picks the domain's certificate and the Host picks the upstream.</summary>
public sealed class DockerEndpointTests : IAsyncLifetime
{
    private const string Pattern = "{registry}.unit.peeragent.test";

    private readonly TempDir _dir = new("docker-endpoint");
    private readonly int _port = FreePort.Get();
    private CertificateAuthority? _ca;
    private FakeUpstream? _configured;
    private FakeUpstream? _default;
    private WebApplication? _app;

    private string ConfiguredDomain => Domain(_configured!.Host);

    public async Task InitializeAsync()
    {
        var now = TimeProvider.System.GetUtcNow();
        _ca = CertificateAuthority.Create("test docker CA", now.AddMinutes(-5), now.AddDays(2));
        _configured = await FakeUpstream.StartAsync(Manifest("configured"));
        _default = await FakeUpstream.StartAsync(Manifest("default"));
        foreach (var host in new[] { _configured.Host, _default.Host })
        {
            using var issued = _ca.Issue(Domain(host), [], [Domain(host)], now.AddMinutes(-5), now.AddDays(1));
            File.WriteAllText(DockerCertificates.CertificatePath(_dir.Path, Domain(host)), issued.CertificatePem);
            File.WriteAllText(DockerCertificates.KeyPath(_dir.Path, Domain(host)), issued.KeyPem);
        }

        _app = AgentApp.Build(
            [
                "--Mirror:ListenUrl=http://127.0.0.1:0",
                "--Metrics:ListenUrl=http://127.0.0.1:0",
                "--Peer:ListenUrl=http://127.0.0.1:0",
                "--Tls:AllowInsecure=true",
                "--Store:DataDir=" + _dir.Sub("store"),
                "--Mirror:DefaultRegistry=" + _default.Host,
                "--Registries:0:Host=" + _configured.Host,
                "--Registries:0:PlainHttp=true",
                "--Registries:0:Public=true",
                "--Registries:1:Host=" + _default.Host,
                "--Registries:1:PlainHttp=true",
                "--Registries:1:Public=true",
                "--DockerMirror:Enabled=true",
                "--DockerMirror:ListenAddress=127.0.0.1",
                "--DockerMirror:Port=" + _port.ToString(CultureInfo.InvariantCulture),
                "--DockerMirror:DomainPattern=" + Pattern,
                "--DockerMirror:CertificateDir=" + _dir.Path,
            ],
            out var errors);
        errors.Should().BeEmpty();
        await _app!.Services.GetRequiredService<ContentStore>().InitializeAsync(CancellationToken.None);
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await _configured!.DisposeAsync();
        await _default!.DisposeAsync();
        _ca?.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task GetManifest_HostIsARegistrysDomain_GoesToThatRegistryOverTlsFromTheCa()
    {
        using var client = Client(out var presented);

        using var response = await client.GetAsync(new Uri($"https://{ConfiguredDomain}/v2/team/app/manifests/v1"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("configured");
        _configured!.Requests.Should().Contain(r => r.Path.StartsWith("/v2/team/app/manifests/v1", StringComparison.Ordinal));
        _default!.Requests.Should().BeEmpty("the Host named the configured registry, not the default one");
        presented.Should().ContainSingle().Which.MatchesHostname(ConfiguredDomain).Should().BeTrue("SNI picked the domain's certificate");
    }

    [Fact]
    public async Task GetManifest_HostOfNoRegistry_NotFoundAndNeverTheDefault()
    {
        // A valid handshake for one domain, then a Host naming another (HttpClient would send the Host as SNI).
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = ConfiguredDomain, RemoteCertificateValidationCallback = (_, _, _, _) => true });
        await tls.WriteAsync("GET /v2/team/app/manifests/v1 HTTP/1.1\r\nHost: other.unit.peeragent.test\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(tls);

        var response = await reader.ReadToEndAsync();

        response.Should().StartWith("HTTP/1.1 404").And.Contain("NAME_UNKNOWN");
        _default!.Requests.Should().BeEmpty("an unknown domain never falls back to Mirror:DefaultRegistry");
        _configured!.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task GetManifest_NsQueryOnTheDockerEndpoint_HostStillDecides()
    {
        using var client = Client(out _);

        using var response = await client.GetAsync(new Uri($"https://{ConfiguredDomain}/v2/team/app/manifests/v1?ns={_default!.Host}"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        _default.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Handshake_UnknownServerName_Refused()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _port);
        await using var tls = new SslStream(tcp.GetStream());

        var handshake = () => tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "unknown.unit.peeragent.test",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });

        await handshake.Should().ThrowAsync<Exception>("no certificate exists for a name that is no registry's domain");
    }

    private static string Domain(string host)
    {
        DistributionDomains.TryGetDomain(Pattern, host, out var domain, out var error).Should().BeTrue(error);
        return domain!;
    }

    private static Func<HttpContext, Task> Manifest(string body) => async context =>
    {
        context.Response.ContentType = "application/vnd.oci.image.manifest.v1+json";
        await context.Response.WriteAsync("{\"schemaVersion\":2,\"who\":\"" + body + "\"}");
    };

    // Connects every domain to the endpoint (no resolver involved) and trusts only the test CA.
    private HttpClient Client(out List<X509Certificate2> presented)
    {
        var seen = new List<X509Certificate2>();
        presented = seen;
        var ca = _ca!.Certificate;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    var leaf = new X509Certificate2(certificate);
                    seen.Add(leaf);
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && chain.Build(leaf);
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }
}
