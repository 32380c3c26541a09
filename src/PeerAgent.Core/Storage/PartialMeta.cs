using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// The <c>partial/&lt;alg&gt;-&lt;hex&gt;.meta</c> file: which pieces of a partial blob are present and their sha256.
/// </summary>
/// <remarks>
/// Binary, little-endian, fixed size for a given piece count:
/// <code>
///   0  4  magic "PAPM"
///   4  2  format version (1)
///   6  1  blob digest algorithm: 1 = sha256, 2 = sha512
///   7  1  reserved, 0
///   8 64  blob digest hash value (sha256 uses the first 32 bytes, rest 0)
///  72  8  blob length (int64)
///  80  4  piece size (int32)
///  84  4  piece count (int32)
///  88  B  present-piece bitmap, B = ceil(count / 8), <see cref="PieceBitmap.ToBytes"/> bit order
///  ..  32 * count  sha256 of each piece (all zero when absent)
///  .. 32  sha256 of every byte before it
/// </code>
/// The trailing checksum makes a truncated or scribbled file parse as corrupt rather than as a wrong bitmap.
/// The file is replaced atomically: written to <c>.meta.tmp</c>, then renamed over <c>.meta</c>.
/// </remarks>
internal static class PartialMeta
{
    internal const int PieceHashSize = 32;
    private const uint Magic = 0x4D504150; // "PAPM" little-endian
    private const ushort Version = 1;
    private const int HeaderSize = 88;
    private const int ChecksumSize = 32;

    public static int SizeFor(int pieceCount) =>
        HeaderSize + PieceBitmap.ByteLength(pieceCount) + (pieceCount * PieceHashSize) + ChecksumSize;

    /// <summary>Serializes into <paramref name="destination"/> (exactly <see cref="SizeFor"/> bytes).</summary>
    public static void Write(Span<byte> destination, Digest digest, PieceLayout layout, PieceBitmap bitmap, ReadOnlySpan<byte> pieceHashes)
    {
        destination.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Version);
        destination[6] = digest.Algorithm == Digest.Sha256 ? (byte)1 : (byte)2;
        digest.CopyHashTo(destination.Slice(8, Digest.MaxHashBytes));
        BinaryPrimitives.WriteInt64LittleEndian(destination[72..], layout.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[80..], layout.PieceSize);
        BinaryPrimitives.WriteInt32LittleEndian(destination[84..], layout.PieceCount);
        var bitmapLength = PieceBitmap.ByteLength(layout.PieceCount);
        bitmap.CopyTo(destination.Slice(HeaderSize, bitmapLength));
        var hashesLength = layout.PieceCount * PieceHashSize;
        pieceHashes[..hashesLength].CopyTo(destination.Slice(HeaderSize + bitmapLength, hashesLength));
        var body = HeaderSize + bitmapLength + hashesLength;
        SHA256.HashData(destination[..body], destination.Slice(body, ChecksumSize));
    }

    /// <summary>Parses a meta file; returns null on success or a reason the file is unusable.</summary>
    public static string? TryRead(ReadOnlySpan<byte> source, out Digest digest, out PieceLayout layout, out PieceBitmap? bitmap, out byte[]? pieceHashes)
    {
        digest = default;
        layout = default;
        bitmap = null;
        pieceHashes = null;
        if (source.Length < HeaderSize + ChecksumSize)
        {
            return $"meta is {source.Length} bytes, shorter than its header";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source) != Magic)
        {
            return "meta has a bad magic number";
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
        if (version != Version)
        {
            return $"meta format version {version} is not supported";
        }

        var algorithm = source[6] switch
        {
            1 => Digest.Sha256,
            2 => Digest.Sha512,
            _ => null,
        };
        if (algorithm is null)
        {
            return $"meta names unknown digest algorithm id {source[6]}";
        }

        var length = BinaryPrimitives.ReadInt64LittleEndian(source[72..]);
        var pieceSize = BinaryPrimitives.ReadInt32LittleEndian(source[80..]);
        var pieceCount = BinaryPrimitives.ReadInt32LittleEndian(source[84..]);
        if (length < 0 || pieceCount < 0)
        {
            return "meta has a negative length or piece count";
        }

        PieceLayout expected;
        try
        {
            expected = PieceLayout.For(length);
        }
        catch (ArgumentOutOfRangeException)
        {
            return $"meta length {length} cannot be cut into pieces";
        }

        // A layout rule change between versions must not reuse pieces cut differently.
        if (expected.PieceSize != pieceSize || expected.PieceCount != pieceCount)
        {
            return $"meta layout (piece size {pieceSize}, count {pieceCount}) differs from the current layout for length {length}";
        }

        if (source.Length != SizeFor(pieceCount))
        {
            return $"meta is {source.Length} bytes, expected {SizeFor(pieceCount)} for {pieceCount} pieces";
        }

        var body = source.Length - ChecksumSize;
        Span<byte> checksum = stackalloc byte[ChecksumSize];
        SHA256.HashData(source[..body], checksum);
        if (!checksum.SequenceEqual(source[body..]))
        {
            return "meta checksum does not match its contents";
        }

        var bitmapLength = PieceBitmap.ByteLength(pieceCount);
        try
        {
            bitmap = PieceBitmap.FromBytes(pieceCount, source.Slice(HeaderSize, bitmapLength));
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }

        digest = Digest.FromHash(algorithm, source.Slice(8, Digest.HashSizeOf(algorithm)));
        layout = expected;
        pieceHashes = source.Slice(HeaderSize + bitmapLength, pieceCount * PieceHashSize).ToArray();
        return null;
    }

    /// <summary>
    /// Replaces <paramref name="metaPath"/> atomically with <paramref name="content"/>. Not fsync'd: a meta torn by a
    /// power cut fails its checksum and recovery drops the partial, which costs a refetch, never a wrong byte.
    /// </summary>
    public static void WriteAtomically(string metaPath, ReadOnlySpan<byte> content)
    {
        var tmpPath = metaPath + ".tmp";
        using (SafeFileHandle handle = File.OpenHandle(tmpPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.SetLength(handle, content.Length);
            RandomAccess.Write(handle, content, 0);
        }

        File.Move(tmpPath, metaPath, overwrite: true);
    }
}
