using Microsoft.Extensions.Configuration;

namespace PeerAgent.Hosting.Configuration;

/// <summary>Where the agent and the scheduler read configuration from, later sources winning.</summary>
public static class ConfigurationSources
{
    /// <summary>The environment variable prefix: <c>PEERAGENT_Store__DataDir</c> is <c>Store:DataDir</c>.</summary>
    public const string EnvironmentPrefix = "PEERAGENT_";

    /// <summary>
    /// Adds <c>PEERAGENT_</c> environment variables, then the command line (<c>--Section:Key=value</c>), on top of
    /// what the web host already read (appsettings.json beside the binary first).
    /// </summary>
    public static IConfigurationBuilder AddPeerAgentSources(this IConfigurationBuilder configuration, string[] args) =>
        configuration.AddEnvironmentVariables(EnvironmentPrefix).AddCommandLine(args);
}
