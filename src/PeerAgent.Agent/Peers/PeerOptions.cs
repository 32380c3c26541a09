namespace PeerAgent.Agent.Peers;

/// <summary>The peer piece service and the piece downloader (section <c>Peer</c>, checked by <c>PeerOptionsValidator</c>).</summary>
internal sealed class PeerOptions
{
    public const string Section = "Peer";

    /// <summary>Smallest chunk: below this the per-message cost dominates.</summary>
    public const int MinChunkBytes = 16 * 1024;

    /// <summary>Largest chunk; clients accept messages up to this plus <see cref="MessageOverheadBytes"/>.</summary>
    public const int MaxChunkBytes = 4 * 1024 * 1024;

    /// <summary>Protobuf framing around a chunk's bytes (tags, lengths, the first message's header); generous.</summary>
    public const int MessageOverheadBytes = 4 * 1024;

    /// <summary>Where the peer gRPC service listens (the node address in a cluster); <c>https://</c> unless Tls:AllowInsecure=true.</summary>
    public string ListenUrl { get; set; } = "https://0.0.0.0:65002";

    /// <summary>
    /// How other agents reach this one, e.g. <c>https://10.0.0.7:65002</c>. Empty: <see cref="ListenUrl"/> when it names
    /// an address, else the node's first non-loopback IPv4 address (the chart sets it from the pod's host IP).
    /// </summary>
    public string AdvertiseUrl { get; set; } = "";

    /// <summary>Pieces downloaded from parents at once, per blob.</summary>
    public int MaxPiecesInFlight { get; set; } = 4;

    /// <summary>
    /// A piece from a parent that sends no byte for this long is cancelled and fetched elsewhere (the parent is slow).
    /// An idle timeout: a parent that keeps sending is never cut off, however slow its link.
    /// </summary>
    public TimeSpan PieceTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Nothing new for this long (no byte from a parent, no piece stored, none announced) while not reading the origin:
    /// fetch the rest from the origin. A pull never waits on a stuck swarm for longer.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes of piece data per DownloadPiece message.</summary>
    public int ChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>Uploads served at once; more wait in a queue of <see cref="MaxQueuedUploads"/>, then are refused.</summary>
    public int MaxConcurrentUploads { get; set; } = 16;

    /// <summary>Uploads that may wait for a slot. 0 refuses at once with RESOURCE_EXHAUSTED, so the caller moves to another parent.</summary>
    public int MaxQueuedUploads { get; set; }

    /// <summary>Upload bandwidth limit in bytes per second over all uploads; 0 means unlimited.</summary>
    public long UploadBytesPerSecond { get; set; }
}
