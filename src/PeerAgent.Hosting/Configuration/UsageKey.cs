namespace PeerAgent.Hosting.Configuration;

/// <summary>One line of <c>--help</c>: a key, its default as the operator would write it, and what it does.</summary>
public sealed record UsageKey(string Key, string Default, string Description);
