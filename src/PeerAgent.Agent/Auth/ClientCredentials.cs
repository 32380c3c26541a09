using Microsoft.AspNetCore.Http;

namespace PeerAgent.Agent.Auth;

/// <summary>The credentials a mirror client sent: forwarded upstream verbatim and, hashed, keying access checks.</summary>
internal static class ClientCredentials
{
    /// <summary>The request's Authorization header, or null when it sent none.</summary>
    public static string? From(HttpRequest request) =>
        request.Headers.Authorization.Count > 0 ? request.Headers.Authorization.ToString() : null;
}
