using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using PeerAgent.Agent.Mirror;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>
/// Checks <see cref="DockerMirrorOptions"/>: a loopback address unless Mirror:AllowNonLoopback, a usable domain pattern
/// and, when enabled, certificates that load for the registries' domains. Reads the Mirror and Registries keys it
/// depends on from the configuration, as their own validators report their problems.
/// </summary>
internal sealed class DockerMirrorOptionsValidator : OptionsValidator<DockerMirrorOptions>
{
    private readonly IConfiguration _configuration;

    public DockerMirrorOptionsValidator(IConfiguration configuration) => _configuration = configuration;

    /// <summary>The hosts whose domains the endpoint serves: every Registries:N:Host, then Mirror:DefaultRegistry.</summary>
    public static IEnumerable<string> ServedHosts(IEnumerable<string> registries, string defaultRegistry) => [.. registries, defaultRegistry];

    protected override void Validate(DockerMirrorOptions options, ICollection<string> errors)
    {
        const string Key = DockerMirrorOptions.Section;
        if (!IPAddress.TryParse(options.ListenAddress, out var address))
        {
            errors.Add($"{Key}:ListenAddress '{options.ListenAddress}' is not an IP address.");
        }
        else if (!IPAddress.IsLoopback(address) && !AllowNonLoopback())
        {
            errors.Add($"{Key}:ListenAddress '{options.ListenAddress}' is not a loopback address; set Mirror:AllowNonLoopback=true to expose the mirror.");
        }

        if (options.Port is < 1 or > 65535)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{Key}:Port must be in [1, 65535], not {options.Port}."));
        }

        if (!DistributionDomains.TryValidatePattern(options.DomainPattern, out var patternError))
        {
            errors.Add($"{Key}:DomainPattern {patternError}.");
            return;
        }

        if (!options.Enabled)
        {
            return;
        }

        if (!Directory.Exists(options.CertificateDir))
        {
            errors.Add($"{Key}:CertificateDir '{options.CertificateDir}' does not exist; run PeerAgent.Installer install --runtime docker --docker-tls-dir {options.CertificateDir} first.");
            return;
        }

        var registries = _configuration.GetSection(RegistryOptions.Section).GetChildren().Select(r => r[nameof(RegistryOptions.Host)] ?? "");
        var defaultRegistry = _configuration[$"{MirrorOptions.Section}:{nameof(MirrorOptions.DefaultRegistry)}"] ?? new MirrorOptions().DefaultRegistry;
        var map = DistributionDomainMap.Create(options.DomainPattern, ServedHosts(registries, defaultRegistry), errors);
        var loaded = 0;
        foreach (var domain in map.Registries.Keys)
        {
            if (DockerCertificates.TryLoad(options.CertificateDir, domain, out var certificate, out var error))
            {
                certificate.Dispose();
                loaded++;
            }
            else if (error is not null)
            {
                errors.Add($"{Key}:CertificateDir: {error}.");
            }
        }

        if (loaded == 0 && map.Registries.Count > 0)
        {
            errors.Add($"{Key}:CertificateDir '{options.CertificateDir}' holds no certificate for any of {string.Join(", ", map.Registries.Keys.Order(StringComparer.Ordinal))}; " +
                "run PeerAgent.Installer install --runtime docker with the same registries and --domain-pattern.");
        }
    }

    private bool AllowNonLoopback() =>
        bool.TryParse(_configuration[$"{MirrorOptions.Section}:{nameof(MirrorOptions.AllowNonLoopback)}"], out var allow) && allow;
}
