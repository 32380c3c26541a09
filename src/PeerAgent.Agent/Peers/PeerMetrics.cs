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

    public static readonly Counter DigestMismatches = Metrics.CreateCounter(
        "peeragent_peer_piece_digest_mismatches_total", "Pieces from peers whose bytes did not match their sha256; never marked present.");

    // Children used on the data path, resolved once.
    public static readonly Counter.Child UploadsServed = Uploads.WithLabels("served");
    public static readonly Counter.Child UploadsRefused = Uploads.WithLabels("refused");
    public static readonly Counter.Child UploadsNotFound = Uploads.WithLabels("not_found");
    public static readonly Counter.Child UploadsFailed = Uploads.WithLabels("failed");
}
