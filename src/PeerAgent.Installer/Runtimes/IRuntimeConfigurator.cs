using PeerAgent.Installer.State;

namespace PeerAgent.Installer.Runtimes;

/// <summary>One container runtime's mirror configuration: what install writes and what status reports.</summary>
internal interface IRuntimeConfigurator
{
    string Name { get; }

    /// <summary>Checks the runtime will read what is written (throws with the fix if not) and returns the files to write.</summary>
    IReadOnlyList<Files.FileEdit> PlanInstall(InstallState? state);

    /// <summary>What the user must do after a successful install, if anything.</summary>
    string? AfterInstall { get; }

    /// <summary>Prints the runtime's state; true when the agent is configured for every registry and the runtime reads it.</summary>
    bool Status(TextWriter output);
}
