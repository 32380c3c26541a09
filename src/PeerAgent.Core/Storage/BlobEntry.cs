using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Storage;

/// <summary>Index entry of a committed blob and its metadata file; mutable fields are guarded by the store lock.</summary>
internal sealed class BlobEntry(Digest digest, long length, string path, string metaPath)
{
    public Digest Digest { get; } = digest;
    public long Length { get; } = length;
    public string Path { get; } = path;
    public string MetaPath { get; } = metaPath;
    public long LastAccess { get; set; }
    public long Sequence { get; set; }
    public int Readers { get; set; }

    /// <summary>Size of the metadata file; 0 when the blob has none.</summary>
    public long MetaLength { get; set; }

    /// <summary>The media type recorded in the metadata (manifests), kept in memory since it is small and read per request.</summary>
    public string? MediaType { get; set; }

    public bool HasPieceDigests { get; set; }

    /// <summary>Bytes counted against the quota: the blob and its metadata.</summary>
    public long StoredBytes => Length + MetaLength;
}
