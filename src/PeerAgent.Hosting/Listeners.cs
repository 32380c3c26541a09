using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerAgent.Core.Hosting;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Hosting;

/// <summary>
/// Tags each connection with the listener it arrived on, so a process's listeners (mirror, gRPC, operations) stay
/// apart even when their ports are picked at run time (port 0).
/// </summary>
public static class Listeners
{
    private const string Key = "peeragent.listener";

    /// <param name="protocols"><see cref="HttpProtocols.Http1"/>, or <see cref="HttpProtocols.Http2"/> alone for gRPC (h2 over TLS with <paramref name="security"/>, else prior-knowledge h2c).</param>
    /// <param name="security">For the gRPC listeners: mutual TLS unless it is plaintext; null for listeners that are always plain HTTP.</param>
    public static void Listen(KestrelServerOptions kestrel, ListenEndpoint endpoint, string name, HttpProtocols protocols, TransportSecurity? security = null) =>
        Listen(kestrel, endpoint, name, protocols, security is null ? null : security.ConfigureListener);

    /// <param name="configure">Runs last on the listener, e.g. to add HTTPS with a certificate of its own.</param>
    public static void Listen(KestrelServerOptions kestrel, ListenEndpoint endpoint, string name, HttpProtocols protocols, Action<ListenOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            listen.Use(next => connection =>
            {
                connection.Items[Key] = name;
                return next(connection);
            });
            configure?.Invoke(listen);
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
        context?.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var value) == true && (string?)value == name;
}
