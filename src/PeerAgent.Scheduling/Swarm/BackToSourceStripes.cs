namespace PeerAgent.Scheduling.Swarm;

/// <summary>Piece indexes <c>[Start, End)</c>.</summary>
internal readonly record struct PieceRange(int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>Splits a blob's pieces into disjoint contiguous ranges, one per back-to-source peer.</summary>
/// <remarks>Contiguous ranges keep each origin fetch a single HTTP Range; sizes differ by at most one piece.</remarks>
internal static class BackToSourceStripes
{
    public static PieceRange Range(int pieceCount, int stripes, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pieceCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stripes);
        if ((uint)index >= (uint)stripes)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"stripe index must be in [0, {stripes})");
        }

        var start = (int)((long)pieceCount * index / stripes);
        var end = (int)((long)pieceCount * (index + 1) / stripes);
        return new PieceRange(start, end);
    }
}
