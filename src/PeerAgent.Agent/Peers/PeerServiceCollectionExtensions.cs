using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace PeerAgent.Agent.Peers;

/// <summary>Registers the peer gRPC service (served on the agent's peer listener).</summary>
internal static class PeerServiceCollectionExtensions
{
    /// <summary>The host binds <see cref="PeerOptions"/> (<c>AddSectionOptions</c>, or <c>AddOptions</c> in tests).</summary>
    public static IServiceCollection AddPeerService(this IServiceCollection services)
    {
        services.AddGrpc(grpc =>
        {
            // Requests are tiny; responses are chunks the service sizes itself.
            grpc.MaxReceiveMessageSize = 64 * 1024;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = false;
        }).AddServiceOptions<PeerService>(peer =>
        {
            // Bounds what one request can make the server allocate; grpc-dotnet holds a compressed request to the
            // same bound once inflated.
            peer.MaxReceiveMessageSize = PieceRequests.MaxRequestBytes;
        });
        services.TryAddSingleton<PeerTasks>();
        services.TryAddSingleton<CommittedPieceDigests>();
        services.TryAddSingleton(sp => PeerUploadLimits.Create(sp.GetRequiredService<IOptions<PeerOptions>>().Value));
        return services;
    }

    public static GrpcServiceEndpointConventionBuilder MapPeerService(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<PeerService>();
}
