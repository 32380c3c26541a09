using System.Security.Cryptography;

namespace PeerAgent.Core.Oci;

/// <summary>A content digest such as <c>sha256:ab12…</c>; sha256 and sha512 are accepted.</summary>
public readonly record struct Digest
{
    /// <summary>Parses <c>algorithm:hex</c>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static Digest Parse(string value) => throw new NotImplementedException();

    public static bool TryParse(string? value, out Digest digest) => throw new NotImplementedException();

    /// <summary>Digest of <paramref name="content"/> with the given algorithm (default sha256).</summary>
    public static Digest Compute(ReadOnlySpan<byte> content, string algorithm = "sha256") => throw new NotImplementedException();

    /// <summary>Builds a digest from a finished hash value.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) => throw new NotImplementedException();

    /// <summary>"sha256" or "sha512".</summary>
    public string Algorithm { get; }

    /// <summary>Lower-case hex of the hash.</summary>
    public string Hex { get; }

    /// <summary>A new incremental hasher of this digest's algorithm.</summary>
    public IncrementalHash CreateHasher() => throw new NotImplementedException();

    /// <summary>True when the finished hash value equals this digest (constant-time compare).</summary>
    public bool Matches(ReadOnlySpan<byte> hash) => throw new NotImplementedException();

    public override string ToString() => $"{Algorithm}:{Hex}";
}
