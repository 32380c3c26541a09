namespace PeerAgent.Testing;

/// <summary>The <c>Tls:*</c> files of one agent or scheduler.</summary>
public sealed record TlsFilePaths(string CaFile, string CertFile, string KeyFile)
{
    /// <summary>The directory holding the three files (the layout <c>certs issue</c> writes).</summary>
    public string Directory => Path.GetDirectoryName(CertFile)!;

    /// <summary>"--Tls:CaFile=…", "--Tls:CertFile=…", "--Tls:KeyFile=…".</summary>
    public IReadOnlyList<string> Arguments => [$"--Tls:CaFile={CaFile}", $"--Tls:CertFile={CertFile}", $"--Tls:KeyFile={KeyFile}"];
}
