using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerAgent.Agent.Configuration;
using PeerAgent.Core.Hosting;

namespace PeerAgent.Agent.Hosting;

/// <summary>
/// Tags each connection with the listener it arrived on, so the mirror and the operations endpoint stay
/// apart even when their ports are picked at run time.
/// </summary>
internal static class Listeners
{
    public const string Mirror = "mirror";
    public const string Operations = "operations";
    public const string Peer = "peer";

    private const string Key = "peeragent.listener";

    public static void Listen(KestrelServerOptions kestrel, ListenEndpoint endpoint, string name, HttpProtocols protocols = HttpProtocols.Http1)
    {
        void Configure(ListenOptions listen)
        {
            // Cleartext: HTTP/1.1 for the mirror and operations, prior-knowledge h2c (Http2 alone) for gRPC.
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
