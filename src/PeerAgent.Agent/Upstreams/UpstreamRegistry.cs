using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Observability;
using PeerAgent.Core.Oci;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace PeerAgent.Agent.Upstreams;

/// <summary>
/// One origin registry: its HTTP client, its resilience pipeline (jittered retries, per-attempt timeout and
/// a circuit breaker of its own) and, for cluster-trusted registries, the node credentials and their tokens.
/// </summary>
internal sealed class UpstreamRegistry : IDisposable
{
    private readonly HttpClient _client;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly NodeCredentials? _credentials;
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public UpstreamRegistry(string host, RegistryOptions? options, UpstreamOptions upstream, TimeProvider timeProvider, ILogger logger)
    {
        Host = host;
        IsPublic = options?.Public ?? false;
        BaseUri = ResolveBaseUri(host, options);
        _timeProvider = timeProvider;
        _logger = logger;
        _credentials = NodeCredentials.From(options);
        _client = new HttpClient(CreateHandler(options), disposeHandler: true)
        {
            BaseAddress = BaseUri,
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline times attempts; bodies have their own idle timeout
        };
        _pipeline = CreatePipeline(upstream, timeProvider);
    }

    /// <summary>The registry host as clients name it (canonical: docker.io, not registry-1.docker.io).</summary>
    public string Host { get; }

    /// <summary>Cluster-trusted: cached content is served without an upstream access check.</summary>
    public bool IsPublic { get; }

    public Uri BaseUri { get; }

    /// <summary>
    /// Sends the request and returns once headers arrived. Throws <see cref="UpstreamUnavailableException"/>
    /// when the registry cannot be reached or its circuit is open. The caller disposes the response.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(UpstreamRequest request, CancellationToken cancellationToken)
    {
        var authorization = request.Authorization ?? CachedNodeAuthorization(request.Repository);
        var response = await SendWithPipelineAsync(request, authorization, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || request.Authorization is not null || _credentials is null)
        {
            return response;
        }

        // Cluster-trusted registry and the client sent nothing: answer the challenge with the node's credentials.
        var challenge = response.Headers.WwwAuthenticate.ToString();
        var nodeAuthorization = await AuthorizeWithNodeCredentialsAsync(challenge, request.Repository, cancellationToken);
        if (nodeAuthorization is null)
        {
            return response;
        }

        response.Dispose();
        return await SendWithPipelineAsync(request, nodeAuthorization, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendWithPipelineAsync(UpstreamRequest request, string? authorization, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    using var message = state.Self.BuildMessage(state.Request, state.Authorization);
                    return await state.Self._client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, token);
                },
                (Self: this, Request: request, Authorization: authorization),
                cancellationToken);
            AgentMetrics.UpstreamRequests.WithLabels(StatusClass(response.StatusCode)).Inc();
            return response;
        }
        catch (BrokenCircuitException ex)
        {
            AgentMetrics.UpstreamRequests.WithLabels("circuit_open").Inc();
            throw new UpstreamUnavailableException(Host, "its circuit breaker is open after repeated failures", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or IOException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            AgentMetrics.UpstreamRequests.WithLabels("error").Inc();
            UpstreamLog.Unreachable(_logger, Host, ex.GetType().Name, ex.Message);
            throw new UpstreamUnavailableException(Host, ex.Message, ex);
        }
    }

    private HttpRequestMessage BuildMessage(UpstreamRequest request, string? authorization)
    {
        var message = new HttpRequestMessage(request.Method, request.PathAndQuery) { Version = HttpVersion.Version11 };
        if (authorization is not null)
        {
            message.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var accept in request.Accept)
        {
            message.Headers.TryAddWithoutValidation("Accept", accept);
        }

        if (request.Range is not null)
        {
            message.Headers.TryAddWithoutValidation("Range", request.Range);
        }

        return message;
    }

    private string? CachedNodeAuthorization(string repository)
    {
        if (_credentials is null)
        {
            return null;
        }

        return _tokens.TryGetValue(PullScope(repository), out var token) && token.Expires > _timeProvider.GetUtcNow()
            ? "Bearer " + token.Token
            : null;
    }

    private async Task<string?> AuthorizeWithNodeCredentialsAsync(string challenge, string repository, CancellationToken cancellationToken)
    {
        if (challenge.StartsWith("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return _credentials!.BasicHeader;
        }

        if (!BearerChallenge.TryParse(challenge, out var bearer))
        {
            return null;
        }

        var scope = bearer.Scope ?? PullScope(repository);
        var query = new StringBuilder("?");
        if (bearer.Service is not null)
        {
            query.Append("service=").Append(Uri.EscapeDataString(bearer.Service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(bearer.Realm, query.ToString()));
        tokenRequest.Headers.Authorization = AuthenticationHeaderValue.Parse(_credentials!.BasicHeader);
        try
        {
            using var response = await _client.SendAsync(tokenRequest, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                UpstreamLog.TokenRefused(_logger, Host, (int)response.StatusCode);
                return null;
            }

            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = json.RootElement;
            var token = root.TryGetProperty("token", out var t) ? t.GetString()
                : root.TryGetProperty("access_token", out var a) ? a.GetString() : null;
            if (string.IsNullOrEmpty(token))
            {
                return null;
            }

            // The spec's default lifetime is 60 s; refresh a little early.
            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 60;
            _tokens[scope] = (token, _timeProvider.GetUtcNow().AddSeconds(Math.Max(lifetime - 10, 1)));
            return "Bearer " + token;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or IOException)
        {
            UpstreamLog.TokenFailed(_logger, Host, ex.Message);
            return null;
        }
    }

    private static string PullScope(string repository) => $"repository:{repository}:pull";

    private static string StatusClass(HttpStatusCode status) => ((int)status / 100) switch
    {
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    };

    private static Uri ResolveBaseUri(string host, RegistryOptions? options)
    {
        if (options?.Endpoint is { } endpoint)
        {
            return new Uri(endpoint.TrimEnd('/') + "/");
        }

        if (host == RegistryHosts.DockerHub)
        {
            return new Uri(RegistryHosts.DockerHubEndpoint + "/");
        }

        return new Uri((options?.PlainHttp == true ? "http://" : "https://") + host + "/");
    }

    private static SocketsHttpHandler CreateHandler(RegistryOptions? options)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true, // blob GETs are often redirected to object storage; .NET drops Authorization across hosts
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseCookies = false,
        };
        if (options?.CaFile is { } caFile)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                TrustedByCustomAuthority(certificate, errors, authorities);
        }

        return handler;
    }

    private static bool TrustedByCustomAuthority(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null)
        {
            return false; // a name mismatch is never excused by a custom CA
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private static ResiliencePipeline<HttpResponseMessage> CreatePipeline(UpstreamOptions options, TimeProvider timeProvider)
    {
        // A registry that answers 5xx or 429, times out or refuses the connection is failing; 4xx answers are real answers.
        var failures = new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>()
            .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode == HttpStatusCode.TooManyRequests);

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = failures,
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = failures,
                FailureRatio = options.BreakerFailureRatio,
                SamplingDuration = options.BreakerSamplingDuration,
                MinimumThroughput = options.BreakerMinimumThroughput,
                BreakDuration = options.BreakerBreakDuration,
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Node-level credentials of a cluster-trusted registry; the password is read once at start.</summary>
    private sealed class NodeCredentials
    {
        private NodeCredentials(string basicHeader) => BasicHeader = basicHeader;

        public string BasicHeader { get; }

        public static NodeCredentials? From(RegistryOptions? options)
        {
            if (options?.Username is not { Length: > 0 } username)
            {
                return null;
            }

            var password = options.PasswordFile is { } file ? File.ReadAllText(file).TrimEnd('\r', '\n') : options.Password ?? "";
            return new NodeCredentials("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)));
        }
    }
}

/// <summary>The upstream registry could not be reached (network, timeouts, or an open circuit).</summary>
internal sealed class UpstreamUnavailableException(string host, string reason, Exception inner)
    : Exception($"upstream {host} is unavailable: {reason}", inner)
{
    public string Host { get; } = host;
}
