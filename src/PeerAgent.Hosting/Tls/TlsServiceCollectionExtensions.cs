using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Hosting.Tls;

/// <summary>Registers <see cref="TransportSecurity"/>; TryAdd so tests can swap it.</summary>
public static class TlsServiceCollectionExtensions
{
    /// <param name="options">Validated already (<see cref="TlsOptions.Validate"/>); the files load when the listeners start.</param>
    public static IServiceCollection AddPeerAgentTls(this IServiceCollection services, TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => TransportSecurity.Create(
            options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<TransportSecurity>>()));
        return services;
    }
}
