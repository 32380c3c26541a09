using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Storage;

/// <summary>
/// The <c>meta/&lt;alg&gt;/&lt;hex&gt;</c> file of a committed blob: its media type (manifests) and the sha256 of each
/// of its pieces, either of which may be absent.
/// </summary>
/// <remarks>
/// Binary, little-endian:
/// <code>
///   0  4  magic "PABM"
///   4  1  format version (1)
///   5  1  flags: 1 = media type present, 2 = piece digests present
///   6  1  blob digest algorithm: 1 = sha256, 2 = sha512
///   7  1  reserved, 0
///   8 64  blob digest hash value (sha256 uses the first 32 bytes, rest 0)
///  72  8  blob length (int64)
///  80  4  piece count (int32): that of <see cref="PieceLayout.For"/> the length with piece digests, else 0
///  84  4  media type length M in UTF-8 bytes (int32; 0 without one)
///  88  M  media type, UTF-8
///  ..  32 * count  sha256 of each piece
///  .. 32  sha256 of every byte before it
/// </code>
/// Written to <c>tmp/</c> and renamed into place, never rewritten in place. Not fsync'd: a file torn by a power
/// cut fails its checksum and recovery deletes it, which leaves the blob without metadata, never with wrong metadata.
/// </remarks>
internal static class BlobMeta
{
    internal const int PieceHashSize = 32;
    private const uint Magic = 0x4D424150; // "PABM" little-endian
    private const byte Version = 1;
    private const byte HasMediaType = 1;
    private const byte HasPieceDigests = 2;
    private const int HeaderSize = 88;
    private const int ChecksumSize = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Serializes the metadata of a blob of <paramref name="length"/> bytes. <paramref name="pieceHashes"/> is null
    /// or 32 bytes per piece of <see cref="PieceLayout.For"/>(<paramref name="length"/>).
    /// </summary>
    public static byte[] Create(Digest digest, long length, string? mediaType, ReadOnlySpan<byte> pieceHashes, bool withPieceHashes)
    {
        var pieceCount = withPieceHashes ? PieceLayout.For(length).PieceCount : 0;
        if (withPieceHashes && pieceHashes.Length != pieceCount * PieceHashSize)
        {
            throw new ArgumentException($"a blob of {length} bytes has {pieceCount} pieces: expected {pieceCount * PieceHashSize} bytes of piece digests, got {pieceHashes.Length}", nameof(pieceHashes));
        }

        var mediaTypeBytes = mediaType is null ? 0 : Encoding.UTF8.GetByteCount(mediaType);
        var hashesLength = pieceCount * PieceHashSize;
        var body = HeaderSize + mediaTypeBytes + hashesLength;
        var destination = new byte[body + ChecksumSize];
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        destination[4] = Version;
        destination[5] = (byte)((mediaType is null ? 0 : HasMediaType) | (withPieceHashes ? HasPieceDigests : 0));
        destination[6] = digest.Algorithm == Digest.Sha256 ? (byte)1 : (byte)2;
        digest.CopyHashTo(destination.AsSpan(8, Digest.MaxHashBytes));
        BinaryPrimitives.WriteInt64LittleEndian(destination.AsSpan(72), length);
        BinaryPrimitives.WriteInt32LittleEndian(destination.AsSpan(80), pieceCount);
        BinaryPrimitives.WriteInt32LittleEndian(destination.AsSpan(84), mediaTypeBytes);
        if (mediaType is not null)
        {
            Encoding.UTF8.GetBytes(mediaType, destination.AsSpan(HeaderSize, mediaTypeBytes));
        }

        pieceHashes[..hashesLength].CopyTo(destination.AsSpan(HeaderSize + mediaTypeBytes, hashesLength));
        SHA256.HashData(destination.AsSpan(0, body), destination.AsSpan(body, ChecksumSize));
        return destination;
    }

    /// <summary>
    /// Parses a metadata file; returns null on success or a reason the file is unusable. <paramref name="pieceHashes"/>
    /// is empty without piece digests (<paramref name="hasPieceHashes"/> tells an empty blob's none from absent).
    /// </summary>
    public static string? TryRead(
        ReadOnlyMemory<byte> source,
        out Digest digest,
        out long length,
        out string? mediaType,
        out bool hasPieceHashes,
        out ReadOnlyMemory<byte> pieceHashes)
    {
        digest = default;
        length = 0;
        mediaType = null;
        hasPieceHashes = false;
        pieceHashes = default;
        var span = source.Span;
        if (span.Length < HeaderSize + ChecksumSize)
        {
            return $"metadata is {span.Length} bytes, shorter than its header";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            return "metadata has a bad magic number";
        }

        if (span[4] != Version)
        {
            return $"metadata format version {span[4]} is not supported";
        }

        var flags = span[5];
        if ((flags & ~(HasMediaType | HasPieceDigests)) != 0)
        {
            return $"metadata has unknown flags {flags}";
        }

        var algorithm = span[6] switch
        {
            1 => Digest.Sha256,
            2 => Digest.Sha512,
            _ => null,
        };
        if (algorithm is null)
        {
            return $"metadata names unknown digest algorithm id {span[6]}";
        }

        length = BinaryPrimitives.ReadInt64LittleEndian(span[72..]);
        var pieceCount = BinaryPrimitives.ReadInt32LittleEndian(span[80..]);
        var mediaTypeBytes = BinaryPrimitives.ReadInt32LittleEndian(span[84..]);
        if (length < 0 || pieceCount < 0 || mediaTypeBytes < 0)
        {
            return "metadata has a negative length, piece count or media type length";
        }

        hasPieceHashes = (flags & HasPieceDigests) != 0;
        int expectedPieces;
        try
        {
            expectedPieces = hasPieceHashes ? PieceLayout.For(length).PieceCount : 0;
        }
        catch (ArgumentOutOfRangeException)
        {
            return $"metadata length {length} cannot be cut into pieces";
        }

        // A layout rule change between versions must not hand out digests of pieces cut differently.
        if (pieceCount != expectedPieces)
        {
            return $"metadata has {pieceCount} piece digests, the current layout for length {length} has {expectedPieces}";
        }

        if ((flags & HasMediaType) == 0 && mediaTypeBytes != 0)
        {
            return "metadata has media type bytes without the media type flag";
        }

        var body = (long)HeaderSize + mediaTypeBytes + ((long)pieceCount * PieceHashSize);
        if (span.Length != body + ChecksumSize)
        {
            return $"metadata is {span.Length} bytes, its header says {body + ChecksumSize}";
        }

        Span<byte> checksum = stackalloc byte[ChecksumSize];
        SHA256.HashData(span[..(int)body], checksum);
        if (!checksum.SequenceEqual(span[(int)body..]))
        {
            return "metadata checksum does not match its contents";
        }

        digest = Digest.FromHash(algorithm, span.Slice(8, Digest.HashSizeOf(algorithm)));
        if ((flags & HasMediaType) != 0)
        {
            try
            {
                mediaType = StrictUtf8.GetString(span.Slice(HeaderSize, mediaTypeBytes));
            }
            catch (DecoderFallbackException)
            {
                return "metadata media type is not UTF-8";
            }
        }

        pieceHashes = source.Slice(HeaderSize + mediaTypeBytes, pieceCount * PieceHashSize);
        return null;
    }
}
