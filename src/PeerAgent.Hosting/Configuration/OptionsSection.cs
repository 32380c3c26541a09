using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// One options type bound to one configuration section, as <see cref="SectionOptionsServiceCollectionExtensions.AddSectionOptions"/>
/// registered it: what <see cref="ConfigurationValidation"/> checks at start.
/// </summary>
internal sealed class OptionsSection
{
    private readonly Func<IServiceProvider, IConfigurationSection, IReadOnlySet<string>, IReadOnlyList<string>> _validate;

    private OptionsSection(string name, IConfigurationSection configuration, Type optionsType, Func<IServiceProvider, IConfigurationSection, IReadOnlySet<string>, IReadOnlyList<string>> validate)
    {
        Name = name;
        Configuration = configuration;
        OptionsType = optionsType;
        _validate = validate;
    }

    public string Name { get; }

    public IConfigurationSection Configuration { get; }

    public Type OptionsType { get; }

    public static OptionsSection For<TOptions>(string name, IConfigurationSection configuration)
        where TOptions : class =>
        new(name, configuration, typeof(TOptions), Validate<TOptions>);

    /// <summary>
    /// Every failure of the options' validators. With no bad key this is the instance consumers get: resolving
    /// <see cref="IOptions{TOptions}"/> binds, validates and caches it. Otherwise the stock binder would throw at the
    /// first bad key, so a copy bound without the bad keys is validated, only to report the other problems.
    /// </summary>
    public IReadOnlyList<string> Validate(IServiceProvider services, IReadOnlySet<string> badKeys) => _validate(services, Configuration, badKeys);

    private static IReadOnlyList<string> Validate<TOptions>(IServiceProvider services, IConfigurationSection section, IReadOnlySet<string> badKeys)
        where TOptions : class
    {
        if (badKeys.Count == 0)
        {
            try
            {
                _ = services.GetRequiredService<IOptions<TOptions>>().Value;
                return [];
            }
            catch (OptionsValidationException ex)
            {
                return [.. ex.Failures];
            }
            catch (InvalidOperationException ex)
            {
                // The binder refused a value the checker let through; its message names the key and the value.
                return [ex.Message];
            }
        }

        var copy = Activator.CreateInstance<TOptions>();
        try
        {
            Without(section, badKeys).Bind(copy);
        }
        catch (InvalidOperationException ex)
        {
            return [ex.Message];
        }

        var failures = new List<string>();
        foreach (var validator in services.GetServices<IValidateOptions<TOptions>>())
        {
            var result = validator.Validate(Options.DefaultName, copy);
            if (result.Failed)
            {
                failures.AddRange(result.Failures ?? [result.FailureMessage]);
            }
        }

        return failures;
    }

    private static IConfiguration Without(IConfigurationSection section, IReadOnlySet<string> badKeys)
    {
        var kept = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is null || IsUnder(section.Path + ":" + key, badKeys))
            {
                continue;
            }

            kept[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(kept).Build();
    }

    private static bool IsUnder(string key, IReadOnlySet<string> badKeys)
    {
        foreach (var bad in badKeys)
        {
            if (key.Equals(bad, StringComparison.OrdinalIgnoreCase)
                || (key.Length > bad.Length && key[bad.Length] == ':' && key.StartsWith(bad, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
