using System.Globalization;
using System.Net;
using PeerAgent.Installer.Hooks;
using PeerAgent.Testing;

namespace PeerAgent.Installer.Tests.Hooks;

public sealed class CleanupWaitTests : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CleanupReport _server;
    private readonly Task _serving;

    public CleanupWaitTests()
    {
        // Every IPv4 and IPv6 address, as in the hook pod: "localhost" may resolve to ::1 as well.
        _server = CleanupReport.Listen(null, 0, "node-a");
        _serving = _server.ServeAsync(_stopping.Token);
    }

    private string Port => _server.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _serving.WaitAsync(TimeSpan.FromSeconds(30));
        _server.Dispose();
        _stopping.Dispose();
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public void Run_EveryAddressAnswers_ExitsZeroNamingTheNodes(string service)
    {
        var result = Run("cleanup-wait", "--service", service, "--port", Port, "--timeout", "1m", "--interval", "100ms", "--settle", "300ms");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().Contain("127.0.0.1 (node-a)").And.Contain("cleanup-wait: done");
    }

    [Fact]
    public void Run_NobodyListens_TimesOutNamingTheAddress()
    {
        var port = FreePort.Get().ToString(CultureInfo.InvariantCulture);

        var result = Run("cleanup-wait", "--service", "127.0.0.1", "--port", port, "--timeout", "1s", "--interval", "200ms");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().Contain("timed out after 1s").And.Contain("never answered 200 on /uninstalled: 127.0.0.1 (");
    }

    [Fact]
    public async Task RunAsync_AddressAppearsWithinSettleTime_WaitsForItToo()
    {
        // The first node answers before the second hook pod has an address; the wait must not end there.
        using var firstNodeOnly = CleanupReport.Listen(IPAddress.Loopback, 0, "node-a");
        using var stop = new CancellationTokenSource();
        var serving = firstNodeOnly.ServeAsync(stop.Token);
        var calls = 0;
        Task<IPAddress[]> Resolve(string host, CancellationToken ct) => Task.FromResult<IPAddress[]>(
            Interlocked.Increment(ref calls) == 1 ? [IPAddress.Loopback] : [IPAddress.Loopback, IPAddress.Parse("127.0.0.2")]);
        var settings = new CleanupWaitSettings("hook", firstNodeOnly.LocalEndPoint.Port, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await new CleanupWait(settings, output, TimeProvider.System, Resolve).RunAsync(error);
        await stop.CancelAsync();
        await serving;

        code.Should().Be(1, "127.0.0.2 never answers: {0}{1}", output, error);
        output.ToString().Should().Contain("127.0.0.1 uninstalled (node-a)");
        error.ToString().Should().Contain("1 of 2 addresses never answered").And.Contain("127.0.0.2 (");
    }

    [Fact]
    public async Task RunAsync_NoAddress_TimesOutSayingSo()
    {
        var settings = new CleanupWaitSettings("hook", _server.LocalEndPoint.Port, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(100), TimeSpan.Zero);
        var error = new StringWriter();

        var code = await new CleanupWait(settings, TextWriter.Null, TimeProvider.System, (_, _) => Task.FromResult<IPAddress[]>([])).RunAsync(error);

        code.Should().Be(1, "an empty set is never done: the hook pods may not have addresses yet");
        error.ToString().Should().Contain("hook resolved to no address");
    }

    [Theory]
    [InlineData("cleanup-wait", "--port", "1")]
    [InlineData("cleanup-wait", "--service", "hook")]
    [InlineData("cleanup-wait", "--service", "hook", "--port", "0")]
    [InlineData("cleanup-wait", "--service", "hook", "--port", "http")]
    [InlineData("cleanup-wait", "--service", "bad host", "--port", "1")]
    [InlineData("cleanup-wait", "--service", "hook", "--port", "1", "--timeout", "10")]
    [InlineData("cleanup-wait", "--service", "hook", "--port", "1", "--interval", "0s")]
    [InlineData("cleanup-wait", "--service", "hook", "--port", "1", "--settle", "-1s")]
    [InlineData("cleanup-report")]
    [InlineData("cleanup-report", "--port", "70000")]
    [InlineData("cleanup-report", "--port", "1", "--address", "node-a")]
    public void Run_BadArguments_ExitsTwo(params string[] args)
    {
        var result = Run(args);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().NotBeEmpty();
    }

    [Fact]
    public void Help_Root_ListsBothHookCommands()
    {
        var result = Run("--help");

        result.ExitCode.Should().Be(0);
        result.Output.Should().Contain("cleanup-report").And.Contain("cleanup-wait");
    }

    private static InstallerResult Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = InstallerCli.Run(args, output, error);
        return new InstallerResult(code, output.ToString(), error.ToString());
    }
}
