using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Observability;
using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Mirror;

/// <summary>Hands upstream responses back to mirror clients.</summary>
internal static class UpstreamResponses
{
    private const int MaxErrorBodyBytes = 64 * 1024;
    private const int ChunkSize = 128 * 1024;

    private static readonly string[] ContentHeaders = ["Content-Type", "Content-Range"];
    private static readonly string[] ResponseHeaders = ["Docker-Content-Digest", "WWW-Authenticate", "ETag", "Accept-Ranges", "Docker-Distribution-API-Version"];

    /// <summary>
    /// Passes status, the headers a registry client needs (including WWW-Authenticate, so the runtime runs the
    /// token flow itself) and a small body back. Used for errors, 401s and HEAD answers, never for blob bodies.
    /// </summary>
    public static async Task PassBackAsync(HttpContext context, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        CopyHeaders(context, response);
        var isHead = HttpMethods.IsHead(context.Request.Method);
        if (isHead)
        {
            context.Response.ContentLength = response.Content.Headers.ContentLength;
            return;
        }

        var body = await ReadBoundedAsync(response, MaxErrorBodyBytes, cancellationToken);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, cancellationToken);
    }

    /// <summary>
    /// Streams a 200 blob body the store could not take, checking its digest on the way. The last chunk is
    /// held back until the digest matched; on a mismatch the response is aborted, never completed.
    /// </summary>
    public static async Task StreamVerifiedAsync(HttpContext context, HttpResponseMessage response, Digest digest, ILogger logger, CancellationToken cancellationToken)
    {
        CopyHeaders(context, response);
        context.Response.ContentLength = response.Content.Headers.ContentLength;
        using var hasher = digest.CreateHasher();
        var held = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var next = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var heldCount = await body.ReadAsync(held.AsMemory(0, ChunkSize), cancellationToken);
            while (heldCount > 0)
            {
                var nextCount = await body.ReadAsync(next.AsMemory(0, ChunkSize), cancellationToken);
                hasher.AppendData(held, 0, heldCount);
                AgentMetrics.UpstreamBlobBytes.Inc(heldCount);
                if (nextCount == 0)
                {
                    var actual = Digest.FromHash(digest.Algorithm, hasher.GetHashAndReset());
                    if (actual != digest)
                    {
                        AgentMetrics.DigestMismatches.WithLabels("blob").Inc();
                        MirrorLog.PassThroughDigestMismatch(logger, digest.ToString(), $"got {actual}");
                        context.Abort();
                        return;
                    }
                }

                await context.Response.Body.WriteAsync(held.AsMemory(0, heldCount), cancellationToken);
                AgentMetrics.ServedBlobBytesFromUpstream.Inc(heldCount);
                (held, next) = (next, held);
                heldCount = nextCount;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(held);
            ArrayPool<byte>.Shared.Return(next);
        }
    }

    private static void CopyHeaders(HttpContext context, HttpResponseMessage response)
    {
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var name in ResponseHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        foreach (var name in ContentHeaders)
        {
            if (response.Content.Headers.TryGetValues(name, out var values))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
    }

    public static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new InvalidDataException($"upstream body of {response.Content.Headers.ContentLength} bytes exceeds {limit}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw new InvalidDataException($"upstream body exceeds {limit} bytes");
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }
}
