using PeerAgent.Hosting.Configuration;
using PeerAgent.Scheduler.Hosting;

namespace PeerAgent.Scheduler;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>The whole process: <c>--help</c>, <c>--version</c>, a refused configuration (status 2), or a run until stopped.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (await CommandLine.TryAnswerAsync(args, SchedulerUsage.Create(), output, error) is { } exit)
        {
            return exit;
        }

        var app = SchedulerApp.Build(args, out var errors);
        if (app is null)
        {
            await ConfigurationValidation.WriteAsync(errors, error);
            return ConfigurationValidation.ExitCode;
        }

        await SchedulerApp.RunAsync(app);
        return 0;
    }
}
