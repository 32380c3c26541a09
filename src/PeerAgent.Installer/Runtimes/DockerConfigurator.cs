using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Tls;
using PeerAgent.Installer.Files;
using PeerAgent.Installer.State;

namespace PeerAgent.Installer.Runtimes;

/// <summary>
/// Docker Engine, the seeds' way: each registry gets a distribution domain that the hosts file resolves to the agent's
/// Docker endpoint (a dedicated loopback address), a serving certificate for that domain from a CA the installer
/// creates once, and that CA in <c>certs.d/&lt;domain&gt;/ca.crt</c>. Docker needs no restart: it reads both on every pull.
/// </summary>
internal sealed class DockerConfigurator : IRuntimeConfigurator
{
    public const string CaName = "PeerAgent Docker mirror CA";

    /// <summary>The hosts file's marker lines; the agent and a user can grep for "PeerAgent".</summary>
    public static readonly MarkedBlock HostsBlock = new(
        "# BEGIN PeerAgent distribution domains (written by PeerAgent.Installer; 'uninstall' removes this block)",
        "# END PeerAgent distribution domains");

    // Backdated against clock skew; a serving certificate is renewed by install when it has less than RenewBefore left.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan ServingLifetime = TimeSpan.FromDays(5 * 365);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly InstallerSettings _settings;
    private readonly HostFiles _files;

    public DockerConfigurator(InstallerSettings settings, HostFiles files)
    {
        _settings = settings;
        _files = files;
    }

    public string Name => "docker";

    public string? AfterInstall =>
        $"Docker reads {_settings.HostsFile} and {_settings.DockerCertsDir} on every pull; no restart needed. Pull by domain (docker pull <domain>/<repo>:<tag>) " +
        $"and run the agent with DockerMirror:Enabled=true, DockerMirror:ListenAddress={_settings.DockerAddress}, DockerMirror:CertificateDir={_settings.DockerTlsDir}.";

    private string CaCertificatePath => Path.Join(_settings.DockerTlsDir, CertificateAuthority.CertificateFileName);

    private string CaKeyPath => Path.Join(_settings.DockerTlsDir, CertificateAuthority.KeyFileName);

    /// <summary>
    /// The registries with their domains: <c>_default</c> is docker.io (Docker has no catch-all mirror; unqualified
    /// names are Docker Hub's). Throws a usage error for a registry the pattern cannot name.
    /// </summary>
    public static IReadOnlyList<(string Registry, string Domain)> Domains(IReadOnlyList<string> registries, string pattern)
    {
        var result = new List<(string, string)>();
        foreach (var listed in registries)
        {
            var registry = listed == InstallerSettings.AllRegistries ? RegistryHosts.DockerHub : listed;
            if (!DistributionDomains.TryGetDomain(pattern, registry, out var domain, out var error))
            {
                throw new InstallerException($"--registry {listed}: {error}", ExitCodes.Usage);
            }

            if (!result.Contains((registry, domain)))
            {
                result.Add((registry, domain));
            }
        }

        return result;
    }

    public IReadOnlyList<FileEdit> PlanInstall(InstallState? state)
    {
        var domains = Domains(_settings.Registries, _settings.DomainPattern);
        var now = _settings.Time.GetUtcNow();
        var edits = new List<FileEdit>();
        using var ca = LoadOrCreateCa(now, edits);
        var caPem = ca.CertificatePem;
        foreach (var (_, domain) in domains)
        {
            var certificatePath = Path.Join(_settings.DockerTlsDir, domain + ".crt");
            var keyPath = Path.Join(_settings.DockerTlsDir, domain + ".key");
            if (!IsUsable(_files.Read(certificatePath), _files.Read(keyPath), ca.Certificate, domain, now))
            {
                using var issued = ca.Issue(domain, [], [domain], now - ClockSkew, Min(now + ServingLifetime, ca.Certificate.NotAfter));

                // Key first: the agent, seeing the new certificate, finds its key already there.
                edits.Add(new FileEdit(keyPath, Encoding.ASCII.GetBytes(issued.KeyPem), FileEdit.SecretMode) { Summary = $"new private key for {domain}" });
                edits.Add(new FileEdit(certificatePath, Encoding.ASCII.GetBytes(issued.CertificatePem)) { Summary = $"new certificate for {domain}" });
            }

            edits.Add(new FileEdit(Path.Join(_settings.DockerCertsDir, domain, CertificateAuthority.CertificateFileName), Encoding.ASCII.GetBytes(caPem))
            {
                Summary = $"the PeerAgent Docker CA certificate, trusted for {domain}",
            });
        }

        // Last, so a domain resolves to the agent only once its certificate is in place.
        var hosts = ReadHostsText() ?? "";
        var lines = HostsLines(hosts, domains.Select(d => d.Domain));
        edits.Add(new FileEdit(_settings.HostsFile, Encoding.UTF8.GetBytes(HostsBlock.With(hosts, lines))) { Block = HostsBlock });
        return edits;
    }

    public bool Status(TextWriter output)
    {
        var hosts = ReadHostsText() ?? "";
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in HostsBlock.Lines(hosts) ?? [])
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i < fields.Length; i++)
            {
                resolved[fields[i]] = fields[0];
            }
        }

        output.WriteLine($"docker: {_settings.HostsFile} {(HostsBlock.Lines(hosts) is null ? "has no PeerAgent block" : "has the PeerAgent block")}; CA in {_settings.DockerTlsDir}; Docker reads {_settings.DockerCertsDir}");
        var entries = _settings.Registries.Count > 0
            ? Domains(_settings.Registries, _settings.DomainPattern).Select(d => (Name: d.Registry + " -> " + d.Domain, d.Domain)).ToList()
            : resolved.Keys.Order(StringComparer.Ordinal).Select(d => (Name: d, Domain: d)).ToList();
        if (entries.Count == 0)
        {
            output.WriteLine("  no distribution domains configured");
            return false;
        }

        var caPem = Text(_files.Read(CaCertificatePath));
        using var caCertificate = caPem is null ? null : TryParse(caPem);
        var ok = true;
        var now = _settings.Time.GetUtcNow();
        foreach (var (name, domain) in entries)
        {
            var problems = new List<string>();
            if (!resolved.TryGetValue(domain, out var address))
            {
                problems.Add($"not in {_settings.HostsFile}");
            }
            else if (address != _settings.DockerAddress.ToString())
            {
                problems.Add($"resolves to {address}, not {_settings.DockerAddress}");
            }

            var trusted = Text(_files.Read(Path.Join(_settings.DockerCertsDir, domain, CertificateAuthority.CertificateFileName)));
            if (caPem is null || trusted != caPem)
            {
                problems.Add($"{_settings.DockerCertsDir}/{domain}/ca.crt {(trusted is null ? "missing" : "is not the installer's CA")}");
            }

            if (caCertificate is null
                || !IsUsable(_files.Read(Path.Join(_settings.DockerTlsDir, domain + ".crt")), _files.Read(Path.Join(_settings.DockerTlsDir, domain + ".key")), caCertificate, domain, now))
            {
                problems.Add($"no valid serving certificate {domain}.crt/.key in {_settings.DockerTlsDir}");
            }

            ok &= problems.Count == 0;
            output.WriteLine($"  {name}: {(problems.Count == 0 ? $"resolves to {address}, CA trusted, serving certificate valid" : string.Join("; ", problems))}");
        }

        return ok;
    }

    private CertificateAuthority LoadOrCreateCa(DateTimeOffset now, List<FileEdit> edits)
    {
        var certificate = Text(_files.Read(CaCertificatePath));
        var key = Text(_files.Read(CaKeyPath));
        if (certificate is not null && key is not null)
        {
            CertificateAuthority ca;
            try
            {
                ca = CertificateAuthority.Load(certificate, key);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new InstallerException($"{CaCertificatePath} and {CaKeyPath} are not a usable CA ({e.Message}); move them away to have a new CA made");
            }

            if (new DateTimeOffset(ca.Certificate.NotAfter) <= now + RenewBefore)
            {
                var expiry = new DateTimeOffset(ca.Certificate.NotAfter);
                ca.Dispose();
                throw new InstallerException($"the CA in {CaCertificatePath} expires on {expiry:u}; move {CaCertificatePath} and {CaKeyPath} away to have a new CA made");
            }

            return ca;
        }

        if (certificate is not null || key is not null)
        {
            throw new InstallerException($"{(certificate is null ? CaKeyPath : CaCertificatePath)} exists without {(certificate is null ? CaCertificatePath : CaKeyPath)}; restore it, or move it away to have a new CA made");
        }

        var created = CertificateAuthority.Create(CaName, now - ClockSkew, now + CaLifetime);
        edits.Add(new FileEdit(CaKeyPath, Encoding.ASCII.GetBytes(created.KeyPem), FileEdit.SecretMode) { Summary = "new CA private key" });
        edits.Add(new FileEdit(CaCertificatePath, Encoding.ASCII.GetBytes(created.CertificatePem)) { Summary = "new CA certificate" });
        return created;
    }

    /// <summary>True when the pair loads, matches, chains to <paramref name="ca"/>, names the domain and is not about to expire.</summary>
    private static bool IsUsable(byte[]? certificate, byte[]? key, X509Certificate2 ca, string domain, DateTimeOffset now)
    {
        if (certificate is null || key is null)
        {
            return false;
        }

        try
        {
            using var pair = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(certificate), Encoding.ASCII.GetString(key));
            if (new DateTimeOffset(pair.NotAfter) <= now + RenewBefore || new DateTimeOffset(pair.NotBefore) > now || !pair.MatchesHostname(domain))
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = now.UtcDateTime;
            return chain.Build(pair);
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // The block's lines: every domain an earlier install put there, then the new ones, all at the current address.
    private List<string> HostsLines(string hosts, IEnumerable<string> domains)
    {
        var all = new List<string>();
        foreach (var line in HostsBlock.Lines(hosts) ?? [])
        {
            foreach (var field in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                if (!all.Contains(field))
                {
                    all.Add(field);
                }
            }
        }

        foreach (var domain in domains)
        {
            if (!all.Contains(domain))
            {
                all.Add(domain);
            }
        }

        return all.Select(d => $"{_settings.DockerAddress} {d}").ToList();
    }

    private string? ReadHostsText()
    {
        var bytes = _files.Read(_settings.HostsFile);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InstallerException($"{_settings.HostsFile} is not UTF-8 text; the installer leaves it alone");
        }
    }

    private static X509Certificate2? TryParse(string pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTime b)
    {
        var other = new DateTimeOffset(b);
        return a < other ? a : other;
    }

    private static string? Text(byte[]? content) => content is null ? null : Encoding.ASCII.GetString(content);
}
