using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerAgent.Installer.Hooks;
using PeerAgent.Testing;

namespace PeerAgent.Installer.Tests.Hooks;

public sealed class CleanupReportTests : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stopping = new();
    private readonly CleanupReport _server;
    private readonly Task _serving;
    private readonly HttpClient _http;

    public CleanupReportTests()
    {
        _server = CleanupReport.Listen(IPAddress.Loopback, 0, "node-a");
        _serving = _server.ServeAsync(_stopping.Token);
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{_server.LocalEndPoint.Port}"),
            Timeout = Deadline,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _serving.WaitAsync(Deadline);
        _server.Dispose();
        _http.Dispose();
        _stopping.Dispose();
    }

    [Fact]
    public async Task Get_Uninstalled_Answers200WithTheNodeName()
    {
        using var response = await _http.GetAsync(new Uri("/uninstalled", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("uninstalled node-a\n");
    }

    [Fact]
    public async Task Get_Twice_AnswersEachConnection()
    {
        for (var i = 0; i < 2; i++)
        {
            using var response = await _http.GetAsync(new Uri("/uninstalled?attempt=" + i, UriKind.Relative));
            response.StatusCode.Should().Be(HttpStatusCode.OK, "request {0} must be answered as well", i);
        }
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/uninstalled/x")]
    [InlineData("POST", "/uninstalled")]
    public async Task Request_OtherThanGetUninstalled_Answers404(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));

        using var response = await _http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Request_NotHttp_Answers400()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _server.LocalEndPoint.Port);
        var stream = client.GetStream();

        await stream.WriteAsync("hello there\r\n\r\n"u8.ToArray());
        var answer = await new StreamReader(stream, Encoding.ASCII).ReadToEndAsync().WaitAsync(Deadline);

        answer.Should().StartWith("HTTP/1.1 400 ");
    }

    [Fact]
    public async Task ServeAsync_Stopped_ClosesThePort()
    {
        await _stopping.CancelAsync();
        await _serving.WaitAsync(Deadline);

        var connect = async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, _server.LocalEndPoint.Port);
        };

        await connect.Should().ThrowAsync<SocketException>();
    }

    [Fact]
    public void Listen_PortInUse_FailsSayingSo()
    {
        var listen = () => CleanupReport.Listen(IPAddress.Loopback, _server.LocalEndPoint.Port, "node-b");

        listen.Should().Throw<InstallerException>().WithMessage($"cannot listen on 127.0.0.1 port {_server.LocalEndPoint.Port}*");
    }

    [Fact]
    public async Task Process_Sigterm_StopsAndExitsZero()
    {
        var port = FreePort.Get();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "PeerAgent.Installer.dll"), "cleanup-report", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--address", "127.0.0.1", "--node", "node-c" })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
            await Wait.UntilAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/uninstalled"));
                        return response.StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException) when (!process.HasExited)
                    {
                        return false;
                    }
                },
                Deadline,
                "cleanup-report answers on its port");

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(Deadline);
            process.ExitCode.Should().Be(0, "SIGTERM is how Kubernetes ends the hook pod: {0}{1}", await output, await error);
            (await output).Should().Contain("cleanup-report: stopped");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
