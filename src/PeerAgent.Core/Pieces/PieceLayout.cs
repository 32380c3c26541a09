using System.Numerics;

namespace PeerAgent.Core.Pieces;

/// <summary>How a blob of a given length is cut into pieces; a pure function of the length so every peer agrees.</summary>
public readonly record struct PieceLayout
{
    /// <summary>Smallest piece: below this the per-piece overhead (scheduling, meta rewrite) dominates.</summary>
    public const int MinPieceSize = 4 * 1024 * 1024;

    /// <summary>Largest piece: bounds the bytes lost when one piece fails verification.</summary>
    public const int MaxPieceSize = 64 * 1024 * 1024;

    /// <summary>Aim for about this many pieces before clamping (Dragonfly's rule).</summary>
    internal const int TargetPieceCount = 500;

    private PieceLayout(long length, int pieceSize, int pieceCount)
    {
        Length = length;
        PieceSize = pieceSize;
        PieceCount = pieceCount;
    }

    /// <summary>Layout for a blob of <paramref name="length"/> bytes (length may be 0: one empty piece count of 0).</summary>
    public static PieceLayout For(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);

        // ceil(length / 500) without the overflow of (length + 499) near long.MaxValue.
        var target = (length / TargetPieceCount) + (length % TargetPieceCount == 0 ? 0 : 1);
        long pieceSize = target <= MinPieceSize
            ? MinPieceSize
            : (long)Math.Min(BitOperations.RoundUpToPowerOf2((ulong)target), MaxPieceSize);

        var count = length == 0 ? 0 : ((length - 1) / pieceSize) + 1;
        if (count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "blob is too large to cut into pieces");
        }

        return new PieceLayout(length, (int)pieceSize, (int)count);
    }

    public long Length { get; }
    public int PieceSize { get; }
    public int PieceCount { get; }

    public long OffsetOf(int index)
    {
        CheckIndex(index);
        return (long)index * PieceSize;
    }

    public int LengthOf(int index)
    {
        CheckIndex(index);
        return (int)Math.Min(PieceSize, Length - ((long)index * PieceSize));
    }

    public int IndexOf(long offset)
    {
        if ((ulong)offset >= (ulong)Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"offset must be in [0, {Length})");
        }

        return (int)(offset / PieceSize);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)PieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"piece index must be in [0, {PieceCount})");
        }
    }
}
