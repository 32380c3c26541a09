using Prometheus;

namespace PeerAgent.Agent.Peers;

/// <summary>Peer piece exchange metrics. No digest or peer address labels.</summary>
internal static class PeerMetrics
{
    /// <summary>outcome: served|refused|not_found|failed.</summary>
    public static readonly Counter Uploads = Metrics.CreateCounter(
        "peeragent_peer_uploads_total", "DownloadPiece calls served to other agents, by outcome.", "outcome");

    public static readonly Counter UploadedBytes = Metrics.CreateCounter(
        "peeragent_peer_uploaded_bytes_total", "Piece bytes sent to other agents.");

    public static readonly Counter DownloadedBytes = Metrics.CreateCounter(
        "peeragent_peer_downloaded_bytes_total", "Piece bytes received from other agents (verified or not).");

    /// <summary>
    /// locality: zone|region|remote|unknown (<see cref="Downloads.PeerLocality"/>). A new counter rather than a label on
    /// <see cref="DownloadedBytes"/>, so dashboards built on that one keep working.
    /// </summary>
    public static readonly Counter ReceivedBytesByLocality = Metrics.CreateCounter(
        "peeragent_peer_received_bytes_total", "Piece bytes received from other agents and stored (verified), by where the parent is.", "locality");

    public static readonly Counter DigestMismatches = Metrics.CreateCounter(
        "peeragent_peer_piece_digest_mismatches_total", "Pieces from peers whose bytes did not match their sha256; never marked present.");

    // Children used on the data path, resolved once.
    public static readonly Counter.Child UploadsServed = Uploads.WithLabels("served");
    public static readonly Counter.Child UploadsRefused = Uploads.WithLabels("refused");
    public static readonly Counter.Child UploadsNotFound = Uploads.WithLabels("not_found");
    public static readonly Counter.Child UploadsFailed = Uploads.WithLabels("failed");

    // Resolved up front so every locality is exported from the start (at 0), and the data path does not look them up.
    private static readonly Counter.Child ReceivedInZone = ReceivedBytesByLocality.WithLabels(Downloads.PeerLocality.Zone);
    private static readonly Counter.Child ReceivedInRegion = ReceivedBytesByLocality.WithLabels(Downloads.PeerLocality.Region);
    private static readonly Counter.Child ReceivedRemote = ReceivedBytesByLocality.WithLabels(Downloads.PeerLocality.Remote);
    private static readonly Counter.Child ReceivedUnknown = ReceivedBytesByLocality.WithLabels(Downloads.PeerLocality.Unknown);

    /// <summary>The <see cref="ReceivedBytesByLocality"/> child for a <see cref="Downloads.PeerLocality"/> value.</summary>
    public static Counter.Child ReceivedBytes(string locality) => locality switch
    {
        Downloads.PeerLocality.Zone => ReceivedInZone,
        Downloads.PeerLocality.Region => ReceivedInRegion,
        Downloads.PeerLocality.Remote => ReceivedRemote,
        _ => ReceivedUnknown,
    };
}
