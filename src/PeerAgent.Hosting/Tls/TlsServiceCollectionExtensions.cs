using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Hosting.Tls;

/// <summary>Registers the <c>Tls</c> section and <see cref="TransportSecurity"/>; TryAdd so tests can swap it.</summary>
public static class TlsServiceCollectionExtensions
{
    /// <summary>
    /// Section <c>Tls</c>, checked at start with the other sections: the files, and the scheme of each URL in
    /// <paramref name="urls"/> (a configuration key and its default) against the TLS mode.
    /// </summary>
    public static IServiceCollection AddTlsOptions(this IServiceCollection services, IConfiguration configuration, params (string Key, string Default)[] urls)
    {
        services.AddSectionOptions(configuration, TlsOptions.Section, new TlsOptionsValidator(TimeProvider.System));
        services.AddSingleton<IValidateOptions<TlsOptions>>(new TransportSchemeValidator(configuration, urls));
        return services;
    }

    /// <summary>The transport of the peer and scheduler listeners and clients, from the validated <see cref="TlsOptions"/>.</summary>
    public static IServiceCollection AddPeerAgentTls(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => TransportSecurity.Create(
            sp.GetRequiredService<IOptions<TlsOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<TransportSecurity>>()));
        return services;
    }
}
