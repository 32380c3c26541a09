using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Upstreams;

namespace PeerAgent.Agent.Tests.Upstreams;

public class UpstreamRegistryTests
{
    private const string NodeBasic = "Basic bm9kZTpzM2NyZXQ="; // node:s3cret

    private static UpstreamRegistry Create(FakeUpstream upstream, RegistryOptions? options = null, UpstreamOptions? upstreamOptions = null) => new(
        upstream.Host,
        options ?? new RegistryOptions { Host = upstream.Host, PlainHttp = true },
        upstreamOptions ?? new UpstreamOptions { RetryDelay = TimeSpan.FromMilliseconds(1) },
        TimeProvider.System, // Polly waits its retry delays on this clock; a fake one would never let them end
        NullLogger.Instance);

    private static UpstreamRequest Get(string path = "/v2/app/manifests/latest") => new(HttpMethod.Get, "app", path);

    [Fact]
    public async Task SendAsync_ServerErrorThenSuccess_RetriesIdempotentRead()
    {
        var calls = 0;
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) == 1 ? 503 : 200;
            return Task.CompletedTask;
        });
        using var registry = Create(upstream);

        using var response = await registry.SendAsync(Get(), default);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        calls.Should().Be(2);
    }

    [Fact]
    public async Task SendAsync_NotFound_IsAnAnswerNotRetried()
    {
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        });
        using var registry = Create(upstream);

        using var response = await registry.SendAsync(Get(), default);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        upstream.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SendAsync_RepeatedFailures_OpensCircuitAndStopsCallingUpstream()
    {
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        using var registry = Create(upstream, upstreamOptions: new UpstreamOptions
        {
            MaxRetries = 0,
            BreakerMinimumThroughput = 2,
            BreakerFailureRatio = 0.5,
            BreakerBreakDuration = TimeSpan.FromMinutes(5),
        });

        for (var i = 0; i < 2; i++)
        {
            (await registry.SendAsync(Get(), default)).Dispose();
        }

        var act = () => registry.SendAsync(Get(), default);

        await act.Should().ThrowAsync<UpstreamUnavailableException>().WithMessage("*circuit*");
        upstream.Requests.Should().HaveCount(2, because: "an open circuit answers without calling the upstream");
    }

    [Fact]
    public async Task SendAsync_Unreachable_ThrowsUpstreamUnavailable()
    {
        var upstream = await FakeUpstream.StartAsync(_ => Task.CompletedTask);
        using var registry = Create(upstream, upstreamOptions: new UpstreamOptions { MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(1) });
        await upstream.DisposeAsync();

        var act = () => registry.SendAsync(Get(), default);

        await act.Should().ThrowAsync<UpstreamUnavailableException>();
    }

    [Fact]
    public async Task SendAsync_ClientCredentials_PassedThroughVerbatim()
    {
        await using var upstream = await FakeUpstream.StartAsync(_ => Task.CompletedTask);
        using var registry = Create(upstream);

        (await registry.SendAsync(Get() with { Authorization = "Bearer client-token" }, default)).Dispose();

        upstream.Requests.Single().Authorization.Should().Be("Bearer client-token");
    }

    [Fact]
    public async Task SendAsync_PublicRegistryWithNodeCredentialsAndBearerChallenge_FetchesTokenAndRetries()
    {
        FakeUpstream? self = null;
        await using var upstream = await FakeUpstream.StartAsync(async context =>
        {
            if (context.Request.Path == "/token")
            {
                context.Response.StatusCode = context.Request.Headers.Authorization == NodeBasic ? 200 : 401;
                await context.Response.WriteAsync("{\"token\":\"node-token\",\"expires_in\":300}");
                return;
            }

            if (context.Request.Headers.Authorization == "Bearer node-token")
            {
                context.Response.StatusCode = 200;
                return;
            }

            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate =
                $"Bearer realm=\"http://{self!.Host}/token\",service=\"fake\",scope=\"repository:app:pull\"";
        });
        self = upstream;
        using var registry = Create(upstream, new RegistryOptions
        {
            Host = upstream.Host,
            PlainHttp = true,
            Public = true,
            Username = "node",
            Password = "s3cret",
        });

        using (var first = await registry.SendAsync(Get(), default))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var second = await registry.SendAsync(Get(), default))
        {
            second.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        upstream.Requests.Select(r => (r.Path, r.Authorization)).Should().Equal(
            ("/v2/app/manifests/latest", null),
            ("/token?service=fake&scope=repository%3Aapp%3Apull", NodeBasic),
            ("/v2/app/manifests/latest", "Bearer node-token"),
            ("/v2/app/manifests/latest", "Bearer node-token"));
    }

    [Fact]
    public async Task SendAsync_PublicRegistryWithNodeCredentialsAndBasicChallenge_AnswersWithBasic()
    {
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = context.Request.Headers.Authorization == NodeBasic ? 200 : 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"r\"";
            return Task.CompletedTask;
        });
        var passwordFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(passwordFile, "s3cret\n");
        try
        {
            using var registry = Create(upstream, new RegistryOptions
            {
                Host = upstream.Host,
                PlainHttp = true,
                Public = true,
                Username = "node",
                PasswordFile = passwordFile,
            });

            using var response = await registry.SendAsync(Get(), default);

            response.StatusCode.Should().Be(HttpStatusCode.OK);
            upstream.Requests.Last().Authorization.Should().Be(NodeBasic, because: "the password file's trailing newline is not part of the password");
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    [Fact]
    public async Task SendAsync_NoNodeCredentials_PassesUnauthorizedBack()
    {
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"r\"";
            return Task.CompletedTask;
        });
        using var registry = Create(upstream);

        using var response = await registry.SendAsync(Get(), default);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("Basic");
    }
}
