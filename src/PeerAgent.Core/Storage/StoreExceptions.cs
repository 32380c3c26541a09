using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Content did not hash to the digest it was fetched under.</summary>
public sealed class DigestMismatchException(Digest expected, Digest actual)
    : Exception($"content digest {actual} does not match expected {expected}")
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}

/// <summary>The store cannot make room within its quota (blob larger than quota, or everything else in use).</summary>
public sealed class StoreFullException(long needed, long quota)
    : Exception($"content store cannot fit {needed} bytes within quota {quota}")
{
    public long Needed { get; } = needed;
    public long Quota { get; } = quota;
}
