using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Peers;

/// <summary>One <see cref="PeerClient"/> (one tuned HTTP/2 channel) per parent address, shared by every download.</summary>
internal sealed class PeerClients(ILogger<PeerClient> logger) : IParentClients, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PeerClient>> _clients = new(StringComparer.Ordinal);

    public IParentClient Get(string address) =>
        _clients.GetOrAdd(address, a => new Lazy<PeerClient>(() => new PeerClient(new Uri(a), logger: logger))).Value;

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
