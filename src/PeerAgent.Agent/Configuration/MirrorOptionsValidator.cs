using PeerAgent.Core.Hosting;
using PeerAgent.Core.Oci;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="MirrorOptions"/>: a loopback listener unless opted out, a registry host as the default.</summary>
internal sealed class MirrorOptionsValidator : OptionsValidator<MirrorOptions>
{
    protected override void Validate(MirrorOptions options, ICollection<string> errors)
    {
        if (!ListenEndpoint.TryParse(options.ListenUrl, out var error, out var endpoint))
        {
            errors.Add($"Mirror:ListenUrl {error}.");
        }
        else if (!endpoint.IsLoopback && !options.AllowNonLoopback)
        {
            errors.Add($"Mirror:ListenUrl '{options.ListenUrl}' is not a loopback address; set Mirror:AllowNonLoopback=true to expose the mirror.");
        }

        if (!RegistryHosts.IsValidHost(options.DefaultRegistry))
        {
            errors.Add($"Mirror:DefaultRegistry '{options.DefaultRegistry}' is not a registry host such as docker.io or 127.0.0.1:5000.");
        }

        if (options.MaxManifestBytes <= 0)
        {
            errors.Add($"Mirror:MaxManifestBytes must be positive, not {options.MaxManifestBytes}.");
        }
    }
}
