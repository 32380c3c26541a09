namespace PeerAgent.Scheduling.Swarm;

/// <summary>One agent as the scheduler sees it: topology, upload slots and liveness.</summary>
internal sealed class SwarmHost
{
    public SwarmHost(string id)
    {
        Id = id;
    }

    public string Id { get; }
    public string NodeName { get; set; } = "";

    /// <summary>Interned region; null when the host has no region label.</summary>
    public string? Region { get; set; }

    /// <summary>Interned region and zone together, so equal zone names in two regions stay apart; null when unlabelled.</summary>
    public string? ZoneKey { get; set; }

    public string Zone { get; set; } = "";
    public string PeerAddress { get; set; } = "";
    public int UploadCapacity { get; set; }

    /// <summary>Uploads in flight as the agent last reported.</summary>
    public int CurrentUploads { get; set; }

    public int FreeUploadSlots => UploadCapacity - CurrentUploads;

    public DateTimeOffset LastHeartbeat { get; set; }

    /// <summary>This host's peers, one per task it takes part in.</summary>
    public List<SwarmPeer> Peers { get; } = new(1);
}
