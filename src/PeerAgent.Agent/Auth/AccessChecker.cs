using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Mirror;
using PeerAgent.Agent.Observability;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Auth;

/// <summary>What the upstream said about a credential reading one object of one repository.</summary>
internal enum AccessResult
{
    Allowed,
    Denied,
    NotFound,
    Unavailable,
}

internal sealed record AccessDecision(AccessResult Result, HttpStatusCode Status = HttpStatusCode.OK, string? WwwAuthenticate = null)
{
    public static readonly AccessDecision Allow = new(AccessResult.Allowed);
}

/// <summary>
/// Serves cached content only to requests the upstream would serve itself. Before cached bytes go out, the
/// upstream is asked with a HEAD of that very object, carrying this request's credentials; a "yes" is
/// remembered briefly per credential, repository and object. Checking the object, not only the repository,
/// means a credential for repository A cannot read a blob that only repository B holds.
/// </summary>
internal sealed class AccessChecker
{
    private const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _allowed = new(StringComparer.Ordinal);
    private readonly TimeSpan _duration;
    private readonly TimeProvider _timeProvider;

    public AccessChecker(IOptions<UpstreamOptions> options, TimeProvider timeProvider)
    {
        _duration = options.Value.AuthCacheDuration;
        _timeProvider = timeProvider;
    }

    public async Task<AccessDecision> CheckAsync(UpstreamTarget target, string kind, Digest digest, string? authorization, CancellationToken cancellationToken)
    {
        if (target.Registry.IsPublic)
        {
            return AccessDecision.Allow;
        }

        var key = Key(target, kind, digest, authorization);
        if (_allowed.TryGetValue(key, out var expires) && expires > _timeProvider.GetUtcNow())
        {
            AgentMetrics.AuthChecks.WithLabels("cached").Inc();
            return AccessDecision.Allow;
        }

        var request = new UpstreamRequest(HttpMethod.Head, target.Repository, $"/v2/{target.Repository}/{kind}s/{digest}")
        {
            Authorization = authorization,
            Accept = kind == "manifest" ? ManifestMediaTypes.All : [],
        };
        HttpResponseMessage response;
        try
        {
            response = await target.Registry.SendAsync(request, cancellationToken);
        }
        catch (UpstreamUnavailableException)
        {
            // Without the upstream's word, private content stays private.
            AgentMetrics.AuthChecks.WithLabels("error").Inc();
            return new AccessDecision(AccessResult.Unavailable, HttpStatusCode.ServiceUnavailable);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                AgentMetrics.AuthChecks.WithLabels("allowed").Inc();
                Remember(key);
                return AccessDecision.Allow;
            }

            switch (response.StatusCode)
            {
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    AgentMetrics.AuthChecks.WithLabels("denied").Inc();
                    return new AccessDecision(AccessResult.Denied, response.StatusCode, response.Headers.WwwAuthenticate.ToString());
                case HttpStatusCode.NotFound:
                    AgentMetrics.AuthChecks.WithLabels("denied").Inc();
                    return new AccessDecision(AccessResult.NotFound, HttpStatusCode.NotFound);
                default:
                    AgentMetrics.AuthChecks.WithLabels("error").Inc();
                    return new AccessDecision(AccessResult.Unavailable, HttpStatusCode.BadGateway);
            }
        }
    }

    /// <summary>Records that the upstream just served this object to this credential (a successful fetch is proof enough).</summary>
    public void RecordAllowed(UpstreamTarget target, string kind, Digest digest, string? authorization)
    {
        if (!target.Registry.IsPublic)
        {
            Remember(Key(target, kind, digest, authorization));
        }
    }

    private void Remember(string key)
    {
        var now = _timeProvider.GetUtcNow();
        if (_allowed.Count >= MaxEntries)
        {
            foreach (var entry in _allowed)
            {
                if (entry.Value <= now)
                {
                    _allowed.TryRemove(entry.Key, out _);
                }
            }

            if (_allowed.Count >= MaxEntries)
            {
                _allowed.Clear();
            }
        }

        _allowed[key] = now + _duration;
    }

    // The credential enters the key only as a hash, so the cache never holds a usable secret.
    private static string Key(UpstreamTarget target, string kind, Digest digest, string? authorization)
    {
        var fingerprint = authorization is null
            ? "-"
            : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(authorization)));
        return $"{target.Registry.Host}|{target.Repository}|{kind}|{digest}|{fingerprint}";
    }
}
