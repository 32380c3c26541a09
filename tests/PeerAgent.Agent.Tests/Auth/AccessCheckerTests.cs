using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Agent.Auth;
using PeerAgent.Agent.Configuration;
using PeerAgent.Agent.Upstreams;
using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Tests.Auth;

public class AccessCheckerTests
{
    private const string Good = "Basic Z29vZDpwYXNz";
    private static readonly Digest Blob = Digest.Compute("layer"u8);

    // Accepts only the "good" credential; everything else gets a Basic challenge.
    private static Task Registry(HttpContext context)
    {
        if (context.Request.Headers.Authorization == Good)
        {
            context.Response.StatusCode = 200;
            return Task.CompletedTask;
        }

        context.Response.StatusCode = 401;
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Registry Realm\"";
        return Task.CompletedTask;
    }

    private static (AccessChecker Checker, UpstreamTarget Target, UpstreamRegistry Registry) Create(FakeUpstream upstream, FakeTimeProvider time, bool isPublic = false)
    {
        var options = new UpstreamOptions { AuthCacheDuration = TimeSpan.FromSeconds(60), MaxRetries = 0 };
        var registry = new UpstreamRegistry(
            upstream.Host,
            new RegistryOptions { Host = upstream.Host, PlainHttp = true, Public = isPublic },
            options,
            time,
            NullLogger.Instance);
        return (new AccessChecker(Options.Create(options), time), new UpstreamTarget(registry, "team/private"), registry);
    }

    [Fact]
    public async Task CheckAsync_AcceptedCredential_AllowsAndCachesPerCredential()
    {
        await using var upstream = await FakeUpstream.StartAsync(Registry);
        var (checker, target, registry) = Create(upstream, new FakeTimeProvider());
        using var _ = registry;

        (await checker.CheckAsync(target, "blob", Blob, Good, default)).Result.Should().Be(AccessResult.Allowed);
        (await checker.CheckAsync(target, "blob", Blob, Good, default)).Result.Should().Be(AccessResult.Allowed);

        upstream.Requests.Should().ContainSingle(because: "the second check is answered from the cache")
            .Which.Should().Be(("HEAD", $"/v2/team/private/blobs/{Blob}", Good));
    }

    [Fact]
    public async Task CheckAsync_OtherCredentialAfterAllowedOne_AsksUpstreamAgainAndIsDenied()
    {
        await using var upstream = await FakeUpstream.StartAsync(Registry);
        var (checker, target, registry) = Create(upstream, new FakeTimeProvider());
        using var _ = registry;
        await checker.CheckAsync(target, "blob", Blob, Good, default);

        var anonymous = await checker.CheckAsync(target, "blob", Blob, authorization: null, default);
        var wrong = await checker.CheckAsync(target, "blob", Blob, "Basic d3Jvbmc6d3Jvbmc=", default);

        anonymous.Result.Should().Be(AccessResult.Denied);
        anonymous.Status.Should().Be(HttpStatusCode.Unauthorized);
        anonymous.WwwAuthenticate.Should().Contain("Registry Realm", because: "the challenge is passed back so the runtime can authenticate");
        wrong.Result.Should().Be(AccessResult.Denied);
        upstream.Requests.Should().HaveCount(3);
    }

    [Fact]
    public async Task CheckAsync_AfterCacheDuration_AsksUpstreamAgain()
    {
        await using var upstream = await FakeUpstream.StartAsync(Registry);
        var time = new FakeTimeProvider();
        var (checker, target, registry) = Create(upstream, time);
        using var _ = registry;
        await checker.CheckAsync(target, "blob", Blob, Good, default);

        time.Advance(TimeSpan.FromSeconds(61));
        await checker.CheckAsync(target, "blob", Blob, Good, default);

        upstream.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task CheckAsync_AllowedForOneObject_DoesNotAllowAnotherObjectOfSameRepository()
    {
        var other = Digest.Compute("other layer"u8);
        await using var upstream = await FakeUpstream.StartAsync(context =>
        {
            // The credential may read the repository, but this registry holds only Blob in it.
            context.Response.StatusCode = context.Request.Path.Value!.EndsWith(Blob.ToString(), StringComparison.Ordinal) ? 200 : 404;
            return Task.CompletedTask;
        });
        var (checker, target, registry) = Create(upstream, new FakeTimeProvider());
        using var _ = registry;
        await checker.CheckAsync(target, "blob", Blob, Good, default);

        var decision = await checker.CheckAsync(target, "blob", other, Good, default);

        decision.Result.Should().Be(AccessResult.NotFound, because: "a credential for a repository must not unlock content the repository does not hold");
    }

    [Fact]
    public async Task CheckAsync_PublicRegistry_AllowsWithoutAskingUpstream()
    {
        await using var upstream = await FakeUpstream.StartAsync(Registry);
        var (checker, target, registry) = Create(upstream, new FakeTimeProvider(), isPublic: true);
        using var _ = registry;

        (await checker.CheckAsync(target, "blob", Blob, authorization: null, default)).Result.Should().Be(AccessResult.Allowed);
        upstream.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task CheckAsync_UpstreamDown_IsUnavailableNotAllowed()
    {
        var upstream = await FakeUpstream.StartAsync(Registry);
        var (checker, target, registry) = Create(upstream, new FakeTimeProvider());
        using var _ = registry;
        await upstream.DisposeAsync();

        var decision = await checker.CheckAsync(target, "blob", Blob, Good, default);

        decision.Result.Should().Be(AccessResult.Unavailable, because: "without the upstream's word private content stays private");
    }
}
