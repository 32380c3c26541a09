namespace PeerAgent.Hosting.Configuration;

/// <summary>A key under a known section that no property takes, or a value the binder cannot convert.</summary>
/// <param name="Key">The full key, e.g. <c>Peer:MaxPiecesInFlight</c>.</param>
/// <param name="Message">Starts with the key; never holds a value that could be a secret (only non-string values are echoed).</param>
/// <param name="BlocksBinding">The stock binder would throw on it or bind it wrongly, so it is left out when binding to validate the rest.</param>
internal readonly record struct ConfigurationProblem(string Key, string Message, bool BlocksBinding);
