using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PeerAgent.Agent.Peers;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Agent.Swarm;

/// <summary>One <see cref="PeerClient"/> (one tuned HTTP/2 channel) per parent address, shared by every download.</summary>
internal sealed class PeerClients(TransportSecurity security, ILogger<PeerClient> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PeerClient>> _clients = new(StringComparer.Ordinal);

    public PeerClient Get(string address) =>
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
