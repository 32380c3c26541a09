using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PeerAgent.Agent.Peers;

/// <summary>Registers the peer gRPC service (served on the agent's peer listener).</summary>
internal static class PeerServiceCollectionExtensions
{
    public static IServiceCollection AddPeerService(this IServiceCollection services, PeerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("invalid peer options: " + string.Join(" ", errors));
        }

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
        services.TryAddSingleton(options);
        services.TryAddSingleton<PeerTasks>();
        services.TryAddSingleton(sp => PeerUploadLimits.Create(sp.GetRequiredService<PeerOptions>()));
        return services;
    }

    public static GrpcServiceEndpointConventionBuilder MapPeerService(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<PeerService>();
}
