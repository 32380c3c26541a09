namespace PeerAgent.Testing;

/// <summary>One scrape job of a <see cref="PrometheusProcess"/>: its job label and its targets (host:port).</summary>
public sealed record PrometheusJob(string Name, IReadOnlyList<string> Targets);
