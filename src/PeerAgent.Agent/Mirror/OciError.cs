using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace PeerAgent.Agent.Mirror;

/// <summary>Writes errors in the OCI distribution error format: <c>{"errors":[{"code","message","detail"}]}</c>.</summary>
internal static class OciError
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string RangeInvalid = "RANGE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string Unavailable = "UNAVAILABLE";
    public const string Unknown = "UNKNOWN";

    public static Task WriteAsync(HttpContext context, HttpStatusCode status, string code, string message)
    {
        var response = context.Response;
        response.StatusCode = (int)status;
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody([new ErrorEntry(code, message)]), OciErrorJson.Default.ErrorBody);
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    internal sealed record ErrorEntry(string Code, string Message);

    internal sealed record ErrorBody(IReadOnlyList<ErrorEntry> Errors);
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OciError.ErrorBody))]
internal sealed partial class OciErrorJson : System.Text.Json.Serialization.JsonSerializerContext;
