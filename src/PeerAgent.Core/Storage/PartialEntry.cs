using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Index entry of a partial blob on disk; mutable fields are guarded by the store lock.</summary>
internal sealed class PartialEntry(Digest digest, long length, string dataPath, string metaPath)
{
    public Digest Digest { get; } = digest;
    public long Length { get; } = length;
    public string DataPath { get; } = dataPath;
    public string MetaPath { get; } = metaPath;
    public long LastAccess { get; set; }
    public long Sequence { get; set; }
    public bool IsOpen { get; set; }

    /// <summary>Completed when the writer lets go (closes, discards or commits); created by the first waiter.</summary>
    public TaskCompletionSource? Closed { get; set; }
}
