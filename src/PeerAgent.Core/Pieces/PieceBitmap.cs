using System.Numerics;

namespace PeerAgent.Core.Pieces;

/// <summary>Which pieces of a blob are present; thread-safe for one writer and many readers.</summary>
/// <remarks>
/// Bits are updated with <see cref="Interlocked"/> so concurrent writers are also safe.
/// Byte form (<see cref="ToBytes"/>): piece <c>i</c> is bit <c>i % 8</c> (least significant first) of byte <c>i / 8</c>;
/// the array is <c>ceil(Count / 8)</c> bytes and the unused high bits of the last byte are zero.
/// </remarks>
public sealed class PieceBitmap
{
    private readonly long[] _words;
    private int _setCount;

    public PieceBitmap(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        _words = new long[(count + 63) / 64];
    }

    public int Count { get; }
    public int SetCount => Volatile.Read(ref _setCount);
    public bool IsComplete => SetCount == Count;

    public bool this[int index]
    {
        get
        {
            CheckIndex(index);
            return (Volatile.Read(ref _words[index >> 6]) & (1L << (index & 63))) != 0;
        }
    }

    public void Set(int index)
    {
        CheckIndex(index);
        var bit = 1L << (index & 63);
        if ((Interlocked.Or(ref _words[index >> 6], bit) & bit) == 0)
        {
            Interlocked.Increment(ref _setCount);
        }
    }

    public void Clear(int index)
    {
        CheckIndex(index);
        var bit = 1L << (index & 63);
        if ((Interlocked.And(ref _words[index >> 6], ~bit) & bit) != 0)
        {
            Interlocked.Decrement(ref _setCount);
        }
    }

    /// <summary>Index of the first missing piece, or <see cref="Count"/> when complete.</summary>
    public int FirstMissing()
    {
        for (var w = 0; w < _words.Length; w++)
        {
            var missing = ~Volatile.Read(ref _words[w]);
            if (missing != 0)
            {
                var index = (w * 64) + BitOperations.TrailingZeroCount(missing);
                return Math.Min(index, Count);
            }
        }

        return Count;
    }

    /// <summary>Number of bytes <see cref="ToBytes"/> produces for <paramref name="count"/> pieces.</summary>
    public static int ByteLength(int count) => (count + 7) / 8;

    public byte[] ToBytes()
    {
        var bytes = new byte[ByteLength(Count)];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Writes the byte form into <paramref name="destination"/> (at least <see cref="ByteLength"/> bytes) without allocating.</summary>
    public void CopyTo(Span<byte> destination)
    {
        var length = ByteLength(Count);
        if (destination.Length < length)
        {
            throw new ArgumentException($"destination needs {length} bytes", nameof(destination));
        }

        for (var i = 0; i < length; i++)
        {
            var word = Volatile.Read(ref _words[i >> 3]);
            destination[i] = (byte)(word >> ((i & 7) * 8));
        }
    }

    public static PieceBitmap FromBytes(int count, ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var length = ByteLength(count);
        if (bytes.Length != length)
        {
            throw new ArgumentException($"a bitmap of {count} pieces is {length} bytes, got {bytes.Length}", nameof(bytes));
        }

        var bitmap = new PieceBitmap(count);
        var set = 0;
        for (var i = 0; i < length; i++)
        {
            var b = bytes[i];
            var valid = Math.Min(8, count - (i * 8));
            if (valid < 8 && (b >> valid) != 0)
            {
                throw new ArgumentException($"bitmap has bits set beyond piece count {count}", nameof(bytes));
            }

            bitmap._words[i >> 3] |= (long)b << ((i & 7) * 8);
            set += BitOperations.PopCount(b);
        }

        bitmap._setCount = set;
        return bitmap;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"piece index must be in [0, {Count})");
        }
    }
}
