namespace PeerAgent.Core.Pieces;

/// <summary>Which pieces of a blob are present; thread-safe for one writer and many readers.</summary>
public sealed class PieceBitmap
{
    public PieceBitmap(int count) => throw new NotImplementedException();

    public int Count { get; }
    public int SetCount { get; }
    public bool IsComplete => SetCount == Count;
    public bool this[int index] => throw new NotImplementedException();
    public void Set(int index) => throw new NotImplementedException();
    public void Clear(int index) => throw new NotImplementedException();

    /// <summary>Index of the first missing piece, or <see cref="Count"/> when complete.</summary>
    public int FirstMissing() => throw new NotImplementedException();

    public byte[] ToBytes() => throw new NotImplementedException();
    public static PieceBitmap FromBytes(int count, ReadOnlySpan<byte> bytes) => throw new NotImplementedException();
}
