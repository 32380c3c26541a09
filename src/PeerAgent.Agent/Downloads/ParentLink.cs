using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Agent.Downloads;

/// <summary>One parent of one download, as a piece source: what it holds (from SyncPieces) and how it has served us.</summary>
/// <remarks>Mutable state is guarded by the owning <see cref="ParentSet"/>'s lock.</remarks>
internal sealed class ParentLink(string hostId, string address, IParentClient client, CancellationToken cancellationToken)
{
    /// <summary>Most pieces one parent serves one download at once.</summary>
    public const int MaxInFlight = 2;

    public string HostId { get; } = hostId;

    public string Address { get; } = address;

    public IParentClient Client { get; } = client;

    /// <summary>Where it sits relative to this agent (<see cref="PeerLocality"/>): labels the bytes it sends us.</summary>
    public string Locality { get; init; } = PeerLocality.Unknown;

    /// <summary>Cancelled when the parent is dropped or the download ends; stops its SyncPieces stream.</summary>
    public CancellationTokenSource Stop { get; } = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

    /// <summary>The SyncPieces follower, awaited before <see cref="Stop"/> is disposed.</summary>
    public Task? Sync { get; set; }

    /// <summary>Pieces it announced; null until its first announcement.</summary>
    public PieceBitmap? Have { get; set; }

    /// <summary>The sha256 it announced for each piece.</summary>
    public Dictionary<int, Digest> Digests { get; } = [];

    public int InFlight { get; set; }

    public int Failures { get; set; }

    public bool Dead { get; set; }

    /// <summary>It served wrong bytes: never used again for this blob, whatever the scheduler says.</summary>
    public bool Corrupt { get; set; }

    /// <summary>Timestamp before which it said it is busy (RESOURCE_EXHAUSTED).</summary>
    public long BusyUntil { get; set; }

    public bool Holds(int piece) => !Dead && Have is { } have && have[piece];

    /// <summary>Whether a piece may be asked of it now.</summary>
    public bool CanServe(int piece, long now) => Holds(piece) && InFlight < MaxInFlight && BusyUntil <= now;
}
