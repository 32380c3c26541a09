using System.Threading.Channels;
using PeerAgent.Core.Oci;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Swarm;

/// <summary>
/// One download's conversation with the scheduler: its decisions in, the download's reports out. A broken session
/// never throws at the downloader: <see cref="Decisions"/> completes and reports are dropped.
/// </summary>
internal interface ISchedulerSession
{
    /// <summary>Decisions in arrival order (the first one included); completes when the session ends or breaks.</summary>
    ChannelReader<AnnounceResponse> Decisions { get; }

    /// <summary>True once the session broke or ended: the download carries on without the scheduler.</summary>
    bool IsBroken { get; }

    void PieceFinished(int index, Digest sha256);

    void PieceFailed(int index, string parentHostId, bool corrupt);

    void ParentFailed(string parentHostId);

    void Reschedule();
}
