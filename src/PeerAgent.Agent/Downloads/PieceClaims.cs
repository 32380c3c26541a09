using PeerAgent.Core.Storage;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// Which pieces of one download are being fetched right now, so the origin lane and the peer workers never
/// write the same piece at once. A claim is released when its piece is stored or its source failed.
/// </summary>
internal sealed class PieceClaims(int pieceCount)
{
    private readonly Lock _lock = new();
    private readonly bool[] _claimed = new bool[pieceCount];

    public bool TryClaim(int index)
    {
        lock (_lock)
        {
            if (_claimed[index])
            {
                return false;
            }

            _claimed[index] = true;
            return true;
        }
    }

    public void Release(int index)
    {
        lock (_lock)
        {
            _claimed[index] = false;
        }
    }

    public bool IsClaimed(int index)
    {
        lock (_lock)
        {
            return _claimed[index];
        }
    }

    /// <summary>The first piece in [start, end) that is neither present nor claimed, or -1.</summary>
    public int FirstOpen(PartialBlob partial, int start, int end)
    {
        lock (_lock)
        {
            for (var i = start; i < end; i++)
            {
                if (!_claimed[i] && !partial.HasPiece(i))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
