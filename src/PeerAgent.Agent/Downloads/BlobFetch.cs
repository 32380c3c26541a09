namespace PeerAgent.Agent.Downloads;

/// <summary>What a request for an uncached blob should do next.</summary>
internal abstract record BlobFetch
{
    /// <summary>The blob was committed meanwhile: serve it from the store.</summary>
    public sealed record Cached : BlobFetch;

    /// <summary>This request started the download; the upstream's answer already authorised it. Dispose the reader.</summary>
    public sealed record Started(DownloadReader Reader) : BlobFetch;

    /// <summary>Another request's download is under way; this request must pass the access check before reading. Dispose the reader.</summary>
    public sealed record Joined(DownloadReader Reader) : BlobFetch;

    /// <summary>
    /// Hand this upstream response to the client: an error or 401 to pass back, or a 200 that cannot be
    /// stored (no room, or its partial still busy) and must be streamed through with its digest checked.
    /// </summary>
    public sealed record Upstream(HttpResponseMessage Response) : BlobFetch;
}
