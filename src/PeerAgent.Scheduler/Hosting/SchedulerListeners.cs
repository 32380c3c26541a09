using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerAgent.Core.Hosting;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>
/// Tags each connection with the listener it arrived on, so gRPC and the operations endpoint stay apart even
/// when their ports are picked at run time (port 0).
/// </summary>
internal static class SchedulerListeners
{
    public const string Grpc = "grpc";
    public const string Operations = "operations";

    private const string Key = "peeragent.listener";

    public static void Listen(KestrelServerOptions kestrel, ListenEndpoint endpoint, string name, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            listen.Use(next => connection =>
            {
                connection.Items[Key] = name;
                return next(connection);
            });
        }

        if (endpoint.Address is null)
        {
            kestrel.ListenAnyIP(endpoint.Port, Configure);
        }
        else
        {
            kestrel.Listen(endpoint.Address, endpoint.Port, Configure);
        }
    }

    public static bool Is(HttpContext context, string name) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var value) == true && (string?)value == name;
}
