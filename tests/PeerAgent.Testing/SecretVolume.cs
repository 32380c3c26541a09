using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace PeerAgent.Testing;

/// <summary>
/// A directory laid out like a Kubernetes Secret volume: <c>tls.crt -> ..data/tls.crt</c>, <c>..data -> ..v1</c>. An
/// update writes a new version directory and renames a new <c>..data</c> link over the old one, as the kubelet does,
/// so readers see the old files or the new ones, never a mix, and the files' own paths never change.
/// </summary>
public sealed class SecretVolume
{
    private readonly string _path;
    private readonly TestCertificates _ca;
    private readonly string _name;
    private int _version;

    private SecretVolume(string path, TestCertificates ca, string name)
    {
        _path = path;
        _ca = ca;
        _name = name;
        Files = new TlsFilePaths(Path.Combine(path, "ca.crt"), Path.Combine(path, "tls.crt"), Path.Combine(path, "tls.key"));
    }

    public TlsFilePaths Files { get; }

    /// <summary>The serial number of the certificate the volume holds now.</summary>
    public string Serial { get; private set; } = "";

    /// <summary>A volume in <paramref name="path"/> holding a certificate for <paramref name="name"/> issued by <paramref name="ca"/>.</summary>
    public static async Task<SecretVolume> CreateAsync(string path, TestCertificates ca, string name)
    {
        ArgumentNullException.ThrowIfNull(ca);
        Directory.CreateDirectory(path);
        var volume = new SecretVolume(path, ca, name);
        await volume.UpdateAsync();
        foreach (var file in new[] { "ca.crt", "tls.crt", "tls.key" })
        {
            File.CreateSymbolicLink(Path.Combine(path, file), Path.Combine("..data", file));
        }

        return volume;
    }

    /// <summary>Issues a new certificate and swaps it in atomically; returns its serial number.</summary>
    public async Task<string> UpdateAsync()
    {
        var version = string.Create(CultureInfo.InvariantCulture, $"..v{++_version}");
        var files = _ca.IssueInto(Path.Combine(_path, version), _name);
        using (var certificate = X509CertificateLoader.LoadCertificateFromFile(files.CertFile))
        {
            Serial = certificate.SerialNumber;
        }

        var staging = Path.Combine(_path, "..data_tmp");
        File.CreateSymbolicLink(staging, version);

        // rename(2) over the old link: .NET's File.Move follows a link to a directory and refuses it.
        await ProcessRunner.RunAsync("mv", ["-T", staging, Path.Combine(_path, "..data")], TimeSpan.FromSeconds(10));
        return Serial;
    }
}
