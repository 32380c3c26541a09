namespace PeerAgent.Core.Pieces;

/// <summary>How a blob of a given length is cut into pieces; a pure function of the length so every peer agrees.</summary>
public readonly record struct PieceLayout
{
    /// <summary>Layout for a blob of <paramref name="length"/> bytes (length may be 0: one empty piece count of 0).</summary>
    public static PieceLayout For(long length) => throw new NotImplementedException();

    public long Length { get; }
    public int PieceSize { get; }
    public int PieceCount { get; }

    public long OffsetOf(int index) => throw new NotImplementedException();
    public int LengthOf(int index) => throw new NotImplementedException();
    public int IndexOf(long offset) => throw new NotImplementedException();
}
