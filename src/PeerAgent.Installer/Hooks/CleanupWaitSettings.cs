namespace PeerAgent.Installer.Hooks;

/// <summary>What <see cref="CleanupWait"/> polls and for how long.</summary>
/// <param name="Service">The headless Service (publishNotReadyAddresses) whose A/AAAA records are the hook pods.</param>
/// <param name="Port">The port <c>cleanup-report</c> listens on.</param>
/// <param name="Timeout">Give up (exit 1) after this long.</param>
/// <param name="Interval">Between two rounds of resolving and asking.</param>
/// <param name="Settle">
/// How long the set of addresses must stay the same, every one having answered, before the wait ends: the DaemonSet's
/// pods do not all get their addresses at the same moment, and the first nodes finish uninstalling in well under a second.
/// </param>
internal sealed record CleanupWaitSettings(string Service, int Port, TimeSpan Timeout, TimeSpan Interval, TimeSpan Settle);
