using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;

namespace PeerAgent.Installer.Hooks;

/// <summary>
/// <c>cleanup-report</c> and <c>cleanup-wait</c>: the two halves of the Helm chart's post-delete hook, which runs
/// <c>uninstall</c> on every node and returns only once each node reported it done.
/// </summary>
internal static class CleanupCommands
{
    private static readonly Option<int> PortOption = new("--port")
    {
        Description = "The port cleanup-report listens on (and cleanup-wait asks).",
        Required = true,
    };

    private static readonly Option<string?> AddressOption = new("--address")
    {
        Description = "Listen on this address only [default: every IPv4 and IPv6 address].",
    };

    private static readonly Option<string> NodeOption = new("--node")
    {
        Description = "The node name to report (the chart passes the downward API's spec.nodeName).",
        DefaultValueFactory = _ => Environment.MachineName,
    };

    private static readonly Option<string> ServiceOption = new("--service")
    {
        Description = "The headless Service (publishNotReadyAddresses) over the hook pods; each of its addresses is one node.",
        Required = true,
    };

    private static readonly Option<string> TimeoutOption = new("--timeout")
    {
        Description = "Give up (exit 1) after this long, naming the addresses that never answered.",
        DefaultValueFactory = _ => "10m",
    };

    private static readonly Option<string> IntervalOption = new("--interval")
    {
        Description = "Time between two rounds of resolving the Service and asking its addresses.",
        DefaultValueFactory = _ => "2s",
    };

    private static readonly Option<string> SettleOption = new("--settle")
    {
        Description = "How long the set of addresses must stay the same, all of them done, before exiting 0 (pods get their addresses one by one).",
        DefaultValueFactory = _ => "10s",
    };

    /// <summary>Adds both commands to the installer's root command.</summary>
    public static void AddTo(RootCommand root, TextWriter output, TextWriter error)
    {
        var report = new Command("cleanup-report", $"Serve 200 on GET {CleanupReport.Path} until SIGTERM: the post-delete hook pod's main container, after 'uninstall' ran as its init container.")
        {
            PortOption, AddressOption, NodeOption,
        };
        report.SetAction(parse => Run(error, () => Report(parse, output)));
        root.Subcommands.Add(report);

        var wait = new Command("cleanup-wait", $"Wait until every address of --service answers 200 on {CleanupReport.Path} (exit 0), or --timeout passes (exit 1).")
        {
            ServiceOption, PortOption, TimeoutOption, IntervalOption, SettleOption,
        };
        wait.SetAction(parse => Run(error, () => Wait(parse, output, error)));
        root.Subcommands.Add(wait);
    }

    private static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (InstallerException e)
        {
            error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
    }

    private static int Report(ParseResult parse, TextWriter output)
    {
        var port = Port(parse);
        IPAddress? address = null;
        if (parse.GetValue(AddressOption) is { } text && !IPAddress.TryParse(text, out address))
        {
            throw new InstallerException($"--address {text}: not an IP address", ExitCodes.Usage);
        }

        using var stopping = new CancellationTokenSource();
        // Kubernetes stops the hook pods with SIGTERM when the DaemonSet is deleted: that is the normal end.
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var server = CleanupReport.Listen(address, port, parse.GetValue(NodeOption)!);
        output.WriteLine($"cleanup-report: listening on {server.LocalEndPoint}; GET {CleanupReport.Path} answers 200 until SIGTERM");
        output.Flush();
        server.ServeAsync(stopping.Token).GetAwaiter().GetResult();
        output.WriteLine("cleanup-report: stopped");
        return ExitCodes.Success;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopping.Cancel();
        }
    }

    private static int Wait(ParseResult parse, TextWriter output, TextWriter error)
    {
        var service = parse.GetValue(ServiceOption)!;
        if (Uri.CheckHostName(service) is UriHostNameType.Unknown or UriHostNameType.Basic)
        {
            throw new InstallerException($"--service {service}: not a host name or address", ExitCodes.Usage);
        }

        var settings = new CleanupWaitSettings(
            service,
            Port(parse),
            Duration(parse, TimeoutOption, allowZero: false),
            Duration(parse, IntervalOption, allowZero: false),
            Duration(parse, SettleOption, allowZero: true));
        return new CleanupWait(settings, output).RunAsync(error).GetAwaiter().GetResult();
    }

    private static int Port(ParseResult parse)
    {
        var port = parse.GetValue(PortOption);
        return port is > 0 and <= 65535 ? port : throw new InstallerException($"--port {port}: expected 1-65535", ExitCodes.Usage);
    }

    private static TimeSpan Duration(ParseResult parse, Option<string> option, bool allowZero)
    {
        var text = parse.GetValue(option)!;
        return Durations.TryParse(text, out var duration) && (allowZero || duration > TimeSpan.Zero)
            ? duration
            : throw new InstallerException($"{option.Name} {text}: expected a duration such as 10m, 90s, 1m30s or 500ms (at most 24h)", ExitCodes.Usage);
    }
}
