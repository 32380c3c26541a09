namespace PeerAgent.Core.Storage;

/// <summary>The store cannot make room within its quota (blob larger than quota, or everything else in use).</summary>
public sealed class StoreFullException(long needed, long quota)
    : Exception($"content store cannot fit {needed} bytes within quota {quota}")
{
    public long Needed { get; } = needed;
    public long Quota { get; } = quota;
}
