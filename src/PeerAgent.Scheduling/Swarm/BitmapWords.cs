using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Scheduling.Swarm;

/// <summary>Word-at-a-time set arithmetic on piece bitmaps, so scoring a candidate costs a few dozen instructions.</summary>
internal static class BitmapWords
{
    /// <summary>Copies <paramref name="bitmap"/> into 64-bit words (piece i is bit i % 64 of word i / 64).</summary>
    public static void Load(PieceBitmap bitmap, Span<ulong> words)
    {
        words[^1] = 0;
        bitmap.CopyTo(MemoryMarshal.AsBytes(words));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(words, words);
        }
    }

    /// <summary>Number of pieces in <paramref name="have"/> that are missing from <paramref name="lack"/>.</summary>
    public static int CountAndNot(ReadOnlySpan<ulong> have, ReadOnlySpan<ulong> lack)
    {
        var count = 0;
        for (var i = 0; i < have.Length; i++)
        {
            count += BitOperations.PopCount(have[i] & ~lack[i]);
        }

        return count;
    }

    /// <summary>Sets bits <c>[start, end)</c>.</summary>
    public static void SetRange(Span<ulong> words, int start, int end)
    {
        for (var i = start; i < end;)
        {
            var word = i >> 6;
            var bit = i & 63;
            var take = Math.Min(64 - bit, end - i);
            var mask = take == 64 ? ulong.MaxValue : ((1UL << take) - 1) << bit;
            words[word] |= mask;
            i += take;
        }
    }

    /// <summary>Index of the first set bit at or after <paramref name="from"/>, or -1.</summary>
    public static int NextSet(ReadOnlySpan<ulong> words, int from)
    {
        var word = from >> 6;
        if (word >= words.Length)
        {
            return -1;
        }

        var bits = words[word] & (ulong.MaxValue << (from & 63));
        while (true)
        {
            if (bits != 0)
            {
                return (word << 6) + BitOperations.TrailingZeroCount(bits);
            }

            if (++word >= words.Length)
            {
                return -1;
            }

            bits = words[word];
        }
    }
}
