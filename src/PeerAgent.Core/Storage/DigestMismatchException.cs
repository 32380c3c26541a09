using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Content did not hash to the digest it was fetched under.</summary>
public sealed class DigestMismatchException(Digest expected, Digest actual)
    : Exception($"content digest {actual} does not match expected {expected}")
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}
