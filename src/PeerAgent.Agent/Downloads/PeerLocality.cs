namespace PeerAgent.Agent.Downloads;

/// <summary>
/// Where a parent sits relative to this agent, from both sides' <c>Node:Zone</c> and <c>Node:Region</c>: the
/// <c>locality</c> label of <c>peeragent_peer_received_bytes_total</c>, so cross-zone traffic can be measured.
/// </summary>
internal static class PeerLocality
{
    /// <summary>Same zone of the same region.</summary>
    public const string Zone = "zone";

    /// <summary>Another zone of the same region.</summary>
    public const string Region = "region";

    /// <summary>Another region.</summary>
    public const string Remote = "remote";

    /// <summary>One side lacks the labels to tell (unlabelled nodes, or a scheduler that does not send the parent's).</summary>
    public const string Unknown = "unknown";

    public static string Of(string selfZone, string selfRegion, string parentZone, string parentRegion)
    {
        var sameRegion = string.Equals(selfRegion, parentRegion, StringComparison.Ordinal);
        if (sameRegion && selfZone.Length > 0 && string.Equals(selfZone, parentZone, StringComparison.Ordinal))
        {
            return Zone;
        }

        if (selfRegion.Length == 0 || parentRegion.Length == 0)
        {
            return Unknown;
        }

        return sameRegion ? Region : Remote;
    }
}
