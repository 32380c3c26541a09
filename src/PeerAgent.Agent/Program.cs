using PeerAgent.Agent.Hosting;

namespace PeerAgent.Agent;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
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
