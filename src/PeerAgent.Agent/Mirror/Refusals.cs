using System.Net;
using Microsoft.AspNetCore.Http;
using PeerAgent.Agent.Auth;

namespace PeerAgent.Agent.Mirror;

/// <summary>Answers for requests the upstream would not serve, and the outcome labels of upstream statuses.</summary>
internal static class Refusals
{
    public static async Task<string> WriteAsync(HttpContext context, AccessDecision decision, string notFoundCode)
    {
        switch (decision.Result)
        {
            case AccessResult.Denied:
                if (!string.IsNullOrEmpty(decision.WwwAuthenticate))
                {
                    // Passed back so the runtime runs the registry's token flow and retries with credentials.
                    context.Response.Headers.WWWAuthenticate = decision.WwwAuthenticate;
                }

                await OciError.WriteAsync(
                    context,
                    decision.Status,
                    decision.Status == HttpStatusCode.Forbidden ? OciError.Denied : OciError.Unauthorized,
                    "the upstream registry did not authorise these credentials for this repository");
                return "unauthorized";
            case AccessResult.NotFound:
                await OciError.WriteAsync(context, HttpStatusCode.NotFound, notFoundCode, "the upstream registry does not know this content in this repository");
                return "not_found";
            default:
                await OciError.WriteAsync(context, HttpStatusCode.ServiceUnavailable, OciError.Unavailable, "cannot confirm access with the upstream registry");
                return "unavailable";
        }
    }

    public static string Outcome(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => "unauthorized",
        HttpStatusCode.NotFound => "not_found",
        _ when (int)status >= 500 => "unavailable",
        _ when (int)status >= 400 => "bad_request",
        _ => "proxied",
    };
}
