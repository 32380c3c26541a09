using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PeerAgent.Hosting.Configuration;

/// <summary>The one way the agent and the scheduler bind options: one section, one options type, one validator.</summary>
public static class SectionOptionsServiceCollectionExtensions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to <paramref name="section"/> (<c>AddOptions().Bind()</c>), adds its
    /// validator, and makes the section known: <see cref="ConfigurationValidation.Validate"/> checks every key under it
    /// at start. Consumers inject <see cref="IOptions{TOptions}"/>. Several options types may share a section (their
    /// properties together are its known keys); an options type binds one section only.
    /// </summary>
    /// <param name="validator">Reports every problem at once, each naming its full key; null when any value will do.</param>
    public static IServiceCollection AddSectionOptions<TOptions>(
        this IServiceCollection services,
        IConfiguration configuration,
        string section,
        IValidateOptions<TOptions>? validator = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(section);
        foreach (var descriptor in services)
        {
            if (!descriptor.IsKeyedService && descriptor.ImplementationInstance is OptionsSection existing && existing.OptionsType == typeof(TOptions))
            {
                throw new InvalidOperationException($"{typeof(TOptions).Name} is already bound to section {existing.Name}.");
            }
        }

        var bound = configuration.GetSection(section);
        services.AddOptions<TOptions>().Bind(bound);
        if (validator is not null)
        {
            services.AddSingleton(validator);
        }

        services.AddSingleton(OptionsSection.For<TOptions>(section, bound));
        return services;
    }
}
