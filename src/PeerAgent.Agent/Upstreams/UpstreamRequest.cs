namespace PeerAgent.Agent.Upstreams;

/// <summary>One idempotent read against an upstream registry, described so it can be re-sent on retry.</summary>
internal sealed record UpstreamRequest(HttpMethod Method, string Repository, string PathAndQuery)
{
    /// <summary>The client's own Authorization header, passed through verbatim; never logged.</summary>
    public string? Authorization { get; init; }

    public IReadOnlyList<string> Accept { get; init; } = [];

    /// <summary>A <c>Range</c> header value such as <c>bytes=100-</c>.</summary>
    public string? Range { get; init; }
}
