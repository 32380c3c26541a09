namespace PeerAgent.Hosting.Tls;

/// <summary>Writing certificate files was refused because some already exist and overwriting was not asked for; nothing was written.</summary>
public sealed class CertificateFilesExistException : IOException
{
    public CertificateFilesExistException(IReadOnlyList<string> paths)
        : base($"{string.Join(", ", paths ?? [])} already exist{(paths?.Count == 1 ? "s" : "")}") => Paths = paths ?? [];

    /// <summary>The files that exist.</summary>
    public IReadOnlyList<string> Paths { get; }
}
