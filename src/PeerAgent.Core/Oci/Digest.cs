using System.Buffers;
using System.Security.Cryptography;

namespace PeerAgent.Core.Oci;

/// <summary>A content digest such as <c>sha256:ab12…</c>; sha256 and sha512 are accepted.</summary>
public readonly record struct Digest
{
    internal const string Sha256 = "sha256";
    internal const string Sha512 = "sha512";
    internal const int Sha256Bytes = 32;
    internal const int Sha512Bytes = 64;
    internal const int MaxHashBytes = Sha512Bytes;

    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    /// <summary>Parses <c>algorithm:hex</c>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static Digest Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var error = TryParseCore(value, out var digest);
        return error is null ? digest : throw new FormatException(error);
    }

    public static bool TryParse(string? value, out Digest digest)
    {
        if (value is null)
        {
            digest = default;
            return false;
        }

        return TryParseCore(value, out digest) is null;
    }

    /// <summary>Digest of <paramref name="content"/> with the given algorithm (default sha256).</summary>
    public static Digest Compute(ReadOnlySpan<byte> content, string algorithm = Sha256)
    {
        Span<byte> hash = stackalloc byte[MaxHashBytes];
        var size = HashSizeOf(algorithm);
        if (size == 0)
        {
            throw new ArgumentException($"digest algorithm '{algorithm}' is not supported (expected sha256 or sha512)", nameof(algorithm));
        }

        var written = size == Sha256Bytes ? SHA256.HashData(content, hash) : SHA512.HashData(content, hash);
        return FromHash(algorithm, hash[..written]);
    }

    /// <summary>Builds a digest from a finished hash value.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash)
    {
        var size = HashSizeOf(algorithm);
        if (size == 0)
        {
            throw new ArgumentException($"digest algorithm '{algorithm}' is not supported (expected sha256 or sha512)", nameof(algorithm));
        }

        if (hash.Length != size)
        {
            throw new ArgumentException($"a {algorithm} hash is {size} bytes, got {hash.Length}", nameof(hash));
        }

        // Intern the algorithm so every digest shares the two constant strings.
        return new Digest(size == Sha256Bytes ? Sha256 : Sha512, Convert.ToHexStringLower(hash));
    }

    /// <summary>"sha256" or "sha512".</summary>
    public string Algorithm { get; }

    /// <summary>Lower-case hex of the hash.</summary>
    public string Hex { get; }

    /// <summary>Size of the hash value in bytes (32 or 64); 0 for <c>default</c>.</summary>
    internal int HashSizeInBytes => Algorithm is null ? 0 : HashSizeOf(Algorithm);

    /// <summary>A new incremental hasher of this digest's algorithm.</summary>
    public IncrementalHash CreateHasher() => HashSizeInBytes switch
    {
        Sha256Bytes => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        Sha512Bytes => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new InvalidOperationException("default(Digest) has no algorithm"),
    };

    /// <summary>True when the finished hash value equals this digest (constant-time compare).</summary>
    public bool Matches(ReadOnlySpan<byte> hash)
    {
        var size = HashSizeInBytes;
        if (size == 0 || hash.Length != size)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MaxHashBytes];
        expected = expected[..size];
        if (Convert.FromHexString(Hex, expected, out _, out var written) != OperationStatus.Done || written != size)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, hash);
    }

    /// <summary>Writes the raw hash value into <paramref name="destination"/> and returns its length.</summary>
    internal int CopyHashTo(Span<byte> destination)
    {
        var size = HashSizeInBytes;
        if (size == 0 || destination.Length < size)
        {
            throw new ArgumentException("destination too small or digest is default", nameof(destination));
        }

        Convert.FromHexString(Hex, destination[..size], out _, out var written);
        return written;
    }

    public override string ToString() => $"{Algorithm}:{Hex}";

    internal static int HashSizeOf(string algorithm) => algorithm switch
    {
        Sha256 => Sha256Bytes,
        Sha512 => Sha512Bytes,
        _ => 0,
    };

    /// <summary>Returns null on success, else a message that says what is wrong.</summary>
    private static string? TryParseCore(string value, out Digest digest)
    {
        digest = default;
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return "digest has no ':' between algorithm and hex (expected sha256:<64 hex> or sha512:<128 hex>)";
        }

        var algorithmSpan = value.AsSpan(0, colon);
        string algorithm;
        if (algorithmSpan.SequenceEqual(Sha256))
        {
            algorithm = Sha256;
        }
        else if (algorithmSpan.SequenceEqual(Sha512))
        {
            algorithm = Sha512;
        }
        else
        {
            // The algorithm part is short in any honest input; cap it so a hostile value cannot bloat logs.
            var shown = algorithmSpan.Length > 32 ? string.Concat(algorithmSpan[..32], "…") : algorithmSpan.ToString();
            return $"digest algorithm '{shown}' is not supported (expected sha256 or sha512)";
        }

        var hex = value.AsSpan(colon + 1);
        var expectedChars = HashSizeOf(algorithm) * 2;
        if (hex.Length != expectedChars)
        {
            return $"{algorithm} digest must have {expectedChars} hex characters, got {hex.Length}";
        }

        for (var i = 0; i < hex.Length; i++)
        {
            var c = hex[i];
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                var kind = c is >= 'A' and <= 'F' ? "upper-case hex" : "not a hex digit";
                return $"{algorithm} digest has '{c}' ({kind}) at hex position {i}; only lower-case [0-9a-f] is allowed";
            }
        }

        digest = new Digest(algorithm, hex.ToString());
        return null;
    }
}
