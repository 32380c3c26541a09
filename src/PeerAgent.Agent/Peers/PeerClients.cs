using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Agent.Peers;

/// <summary>One <see cref="PeerClient"/> (one tuned HTTP/2 channel, mutual TLS unless insecure) per parent address, shared by every download.</summary>
internal sealed class PeerClients(TransportSecurity security, ILogger<PeerClient> logger) : IParentClients, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PeerClient>> _clients = new(StringComparer.Ordinal);

    public IParentClient Get(string address) =>
        _clients.GetOrAdd(address, a => new Lazy<PeerClient>(() => new PeerClient(new Uri(a), security.ConfigureClient, logger))).Value;

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated)
            {
                client.Value.Dispose();
            }
        }

        _clients.Clear();
    }
}
