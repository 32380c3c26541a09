using System.Security.Cryptography;

namespace PeerAgent.Hosting.Tls;

/// <summary>The bytes of the three TLS files, read together, and a fingerprint to tell whether any of them changed.</summary>
internal sealed class TlsFiles
{
    private TlsFiles(byte[] ca, byte[] certificate, byte[] key)
    {
        Ca = ca;
        Certificate = certificate;
        Key = key;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[sizeof(int)];
        foreach (var part in new[] { ca, certificate, key })
        {
            // Length-prefixed, so moving bytes from one file to the next changes the fingerprint.
            BitConverter.TryWriteBytes(length, part.Length);
            hash.AppendData(length);
            hash.AppendData(part);
        }

        Fingerprint = hash.GetHashAndReset();
    }

    public byte[] Ca { get; }

    public byte[] Certificate { get; }

    public byte[] Key { get; }

    public byte[] Fingerprint { get; }

    /// <summary>
    /// Reads the three files by path each time, so a Kubernetes Secret volume's symlink swap (<c>..data</c>) is seen;
    /// null, with an error naming each key that cannot be read, when any is missing or unreadable.
    /// </summary>
    public static TlsFiles? Read(TlsOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        var ca = ReadFile(TlsOptions.CaFileKey, options.CaFile, errors);
        var certificate = ReadFile(TlsOptions.CertFileKey, options.CertFile, errors);
        var key = ReadFile(TlsOptions.KeyFileKey, options.KeyFile, errors);
        return ca is null || certificate is null || key is null ? null : new TlsFiles(ca, certificate, key);
    }

    private static byte[]? ReadFile(string key, string path, ICollection<string> errors)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add($"{key} '{path}' cannot be read: {ex.Message}");
            return null;
        }
    }
}
