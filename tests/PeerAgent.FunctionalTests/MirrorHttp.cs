using System.Net.Http.Headers;
using System.Security.Cryptography;
using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests;

/// <summary>The result of one GET against the mirror, however it ended.</summary>
public sealed record MirrorResponse(int? Status, long? ContentLength, byte[] Body, Exception? Error, string? WwwAuthenticate)
{
    /// <summary>2xx with the whole body received.</summary>
    public bool CompletedSuccessfully => Error is null && Status is >= 200 and < 300 && (ContentLength is null || ContentLength == Body.LongLength);

    public string BodyDigest => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Body));

    public override string ToString() =>
        $"status={Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} length={ContentLength} received={Body.Length} error={Error?.GetType().Name}: {Error?.Message}";
}

/// <summary>Direct HTTP calls to the agent's mirror API, as containerd would make them (with the ns query).</summary>
public static class MirrorHttp
{
    public static string BlobPath(TestImage image, string digest, bool withNs = true) =>
        $"v2/{image.Repository}/blobs/{digest}" + (withNs ? $"?ns={Uri.EscapeDataString(image.RegistryHost)}" : string.Empty);

    public static string ManifestPath(TestImage image, string reference, bool withNs = true) =>
        $"v2/{image.Repository}/manifests/{reference}" + (withNs ? $"?ns={Uri.EscapeDataString(image.RegistryHost)}" : string.Empty);

    /// <summary>Sends a request and reads the whole body, capturing a broken transfer as <see cref="MirrorResponse.Error"/>.</summary>
    public static async Task<MirrorResponse> SendAsync(HttpClient client, HttpMethod method, string path, AuthenticationHeaderValue? auth = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = auth;
        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            return new MirrorResponse(null, null, [], ex, null);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var length = response.Content.Headers.ContentLength;
            var challenge = response.Headers.WwwAuthenticate.Count > 0 ? response.Headers.WwwAuthenticate.ToString() : null;
            var body = new MemoryStream();
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync();
                await stream.CopyToAsync(body);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                return new MirrorResponse(status, length, body.ToArray(), ex, challenge);
            }

            return new MirrorResponse(status, length, body.ToArray(), null, challenge);
        }
    }

    public static Task<MirrorResponse> GetBlobAsync(HttpClient client, TestImage image, BlobInfo blob, AuthenticationHeaderValue? auth = null) =>
        SendAsync(client, HttpMethod.Get, BlobPath(image, blob.Digest), auth);
}
