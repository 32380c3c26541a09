using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Index entry of a committed blob; mutable fields are guarded by the store lock.</summary>
internal sealed class BlobEntry(Digest digest, long length, string path)
{
    public Digest Digest { get; } = digest;
    public long Length { get; } = length;
    public string Path { get; } = path;
    public long LastAccess { get; set; }
    public long Sequence { get; set; }
    public int Readers { get; set; }
}
