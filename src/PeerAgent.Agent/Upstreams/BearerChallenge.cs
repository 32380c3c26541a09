using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace PeerAgent.Agent.Upstreams;

/// <summary>The parameters of a <c>WWW-Authenticate: Bearer realm=…,service=…,scope=…</c> challenge.</summary>
internal sealed partial record BearerChallenge(Uri Realm, string? Service, string? Scope)
{
    public static bool TryParse(string? header, [NotNullWhen(true)] out BearerChallenge? challenge)
    {
        challenge = null;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string? realm = null, service = null, scope = null;
        foreach (Match match in Parameter().Matches(header))
        {
            var value = match.Groups[2].Value;
            switch (match.Groups[1].Value.ToLowerInvariant())
            {
                case "realm": realm = value; break;
                case "service": service = value; break;
                case "scope": scope = value; break;
            }
        }

        if (!Uri.TryCreate(realm, UriKind.Absolute, out var realmUri)
            || (realmUri.Scheme != Uri.UriSchemeHttps && realmUri.Scheme != Uri.UriSchemeHttp))
        {
            return false;
        }

        challenge = new BearerChallenge(realmUri, service, scope);
        return true;
    }

    [GeneratedRegex("([A-Za-z]+)=\"([^\"]*)\"")]
    private static partial Regex Parameter();
}
