using System.Collections.Concurrent;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduling.Service;

/// <summary>The open Announce streams by peer, so the sweeper can push decisions to them.</summary>
internal sealed class AnnounceStreams
{
    private readonly ConcurrentDictionary<PeerRef, AnnounceStream> _streams = new();

    public int Count => _streams.Count;

    /// <summary>Registers a stream; a newer stream of the same peer (the agent reconnected) replaces the older one.</summary>
    public void Add(AnnounceStream stream)
    {
        var replaced = false;
        _streams.AddOrUpdate(
            stream.Peer,
            _ =>
            {
                replaced = false;
                return stream;
            },
            (_, _) =>
            {
                replaced = true;
                return stream;
            });
        if (!replaced)
        {
            SchedulerMetrics.AnnounceStreams.Inc();
        }
    }

    /// <summary>Removes the stream; false when a newer stream of the same peer had replaced it (then the peer is not leaving).</summary>
    public bool Remove(AnnounceStream stream)
    {
        if (!_streams.TryRemove(new KeyValuePair<PeerRef, AnnounceStream>(stream.Peer, stream)))
        {
            return false;
        }

        SchedulerMetrics.AnnounceStreams.Dec();
        return true;
    }

    public bool TryGet(PeerRef peer, out AnnounceStream stream) => _streams.TryGetValue(peer, out stream!);
}
