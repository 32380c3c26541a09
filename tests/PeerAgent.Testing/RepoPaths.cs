namespace PeerAgent.Testing;

/// <summary>Locates the repository and the build outputs the tests run.</summary>
public static class RepoPaths
{
    /// <summary>The directory holding PeerAgent.sln, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration the tests were built with: .../bin/Release/net10.0/ gives Release.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";

    public static string AgentDll =>
        Path.Combine(Root, "src", "PeerAgent.Agent", "bin", Configuration, "net10.0", "PeerAgent.Agent.dll");

    public static string SchedulerDll =>
        Path.Combine(Root, "src", "PeerAgent.Scheduler", "bin", Configuration, "net10.0", "PeerAgent.Scheduler.dll");

    public static string InstallerDll =>
        Path.Combine(Root, "src", "PeerAgent.Installer", "bin", Configuration, "net10.0", "PeerAgent.Installer.dll");

    /// <summary>The dotnet host: the one running the tests when known.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PeerAgent.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"PeerAgent.sln not found above {AppContext.BaseDirectory}.");
    }
}
