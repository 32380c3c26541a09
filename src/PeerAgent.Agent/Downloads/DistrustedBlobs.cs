using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// Blobs whose copy assembled from peers failed its whole-blob digest: for a while their downloads skip the
/// swarm and read the origin, so a rotten swarm cannot make a node fail the same blob over and over.
/// </summary>
internal sealed class DistrustedBlobs(TimeProvider time)
{
    /// <summary>How long peers are skipped for such a blob.</summary>
    internal static readonly TimeSpan Duration = TimeSpan.FromMinutes(10);

    private const int Capacity = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, long> _since = [];

    public bool Contains(Digest digest)
    {
        lock (_lock)
        {
            if (_since.TryGetValue(digest, out var since) && time.GetElapsedTime(since) < Duration)
            {
                return true;
            }

            _since.Remove(digest);
            return false;
        }
    }

    public void Add(Digest digest)
    {
        lock (_lock)
        {
            if (_since.Count >= Capacity)
            {
                _since.Clear();
            }

            _since[digest] = time.GetTimestamp();
        }
    }
}
