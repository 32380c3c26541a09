namespace PeerAgent.Installer;

/// <summary>A failure the user can act on: its message is printed as is and the process exits with <see cref="ExitCode"/>.</summary>
internal sealed class InstallerException : Exception
{
    public InstallerException()
    {
    }

    public InstallerException(string message)
        : base(message)
    {
    }

    public InstallerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InstallerException(string message, int exitCode)
        : base(message) => ExitCode = exitCode;

    public int ExitCode { get; } = ExitCodes.Failure;
}
