using PeerAgent.Scheduler.Hosting;

namespace PeerAgent.Scheduler;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var app = SchedulerApp.Build(args, out var errors);
        if (app is null)
        {
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync("configuration error: " + error);
            }

            return 2;
        }

        await SchedulerApp.RunAsync(app);
        return 0;
    }
}
