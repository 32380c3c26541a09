namespace PeerAgent.Agent.Upstreams;

/// <summary>What a mirror request resolves to: the upstream registry and the repository name there.</summary>
internal sealed record UpstreamTarget(UpstreamRegistry Registry, string Repository);
