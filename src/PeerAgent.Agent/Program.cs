using PeerAgent.Agent.Hosting;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Agent;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "certs")
        {
            return CertsCommand.Run(args[1..], Console.Out, Console.Error, TimeProvider.System);
        }

        var app = AgentApp.Build(args, out var errors);
        if (app is null)
        {
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync("configuration error: " + error);
            }

            return 2;
        }

        await AgentApp.RunAsync(app);
        return 0;
    }
}
