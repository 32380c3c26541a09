using PeerAgent.Agent.Hosting;
using PeerAgent.Hosting.Configuration;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Agent;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>The whole process: <c>--help</c>, <c>--version</c>, a refused configuration (status 2), or a run until stopped.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length > 0 && args[0] == "certs")
        {
            return CertsCommand.Run(args[1..], output, error, TimeProvider.System);
        }

        if (await CommandLine.TryAnswerAsync(args, AgentUsage.Create(), output, error) is { } exit)
        {
            return exit;
        }

        var app = AgentApp.Build(args, out var errors);
        if (app is null)
        {
            await ConfigurationValidation.WriteAsync(errors, error);
            return ConfigurationValidation.ExitCode;
        }

        await AgentApp.RunAsync(app);
        return 0;
    }
}
