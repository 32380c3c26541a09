using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// Checks the whole configuration of a built host before it listens, so an operator fixes a bad values file in one
/// go: unknown keys and unconvertible values under every section registered with
/// <see cref="SectionOptionsServiceCollectionExtensions.AddSectionOptions"/>, then every validator. Sections nobody
/// registered (Logging, Kestrel, ...) are left alone.
/// </summary>
public static class ConfigurationValidation
{
    /// <summary>The exit status of a process refused for its configuration or its arguments.</summary>
    public const int ExitCode = 2;

    /// <summary>Every problem, each starting with its full key; empty when the host may start.</summary>
    public static IReadOnlyList<string> Validate(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var sections = services.GetServices<OptionsSection>().ToList();
        var errors = new List<string>();
        foreach (var group in sections.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase))
        {
            var name = group.Key;
            var problems = new List<ConfigurationProblem>();
            SectionChecker.Check(group.First().Configuration, [.. group.Select(s => s.OptionsType)], key => KnownElsewhere(sections, name, key), problems);
            var badKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var problem in problems)
            {
                errors.Add(problem.Message);
                if (problem.BlocksBinding)
                {
                    badKeys.Add(problem.Key);
                }
            }

            foreach (var section in group)
            {
                errors.AddRange(section.Validate(services, badKeys));
            }
        }

        return errors;
    }

    /// <summary>
    /// The options' value, or false when it does not bind or validate. For what is resolved while the host is built,
    /// before <see cref="Validate"/> runs: the web host builds its server, and so the listeners' options, inside
    /// <c>Build()</c>. Skipping them there is safe because a host whose configuration fails never starts.
    /// </summary>
    public static bool TryGetValue<TOptions>(IOptions<TOptions> options, [NotNullWhen(true)] out TOptions? value)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            value = options.Value;
            return true;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>Writes <c>configuration error: ...</c> per problem, one a line.</summary>
    public static async Task WriteAsync(IEnumerable<string> errors, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(error);
        foreach (var message in errors)
        {
            await error.WriteLineAsync("configuration error: " + message);
        }
    }

    /// <summary>The one other section whose options know <paramref name="key"/>, e.g. a key that moved; null when none or several do.</summary>
    private static string? KnownElsewhere(List<OptionsSection> sections, string section, string key)
    {
        string? found = null;
        foreach (var other in sections)
        {
            if (string.Equals(other.Name, section, StringComparison.OrdinalIgnoreCase)
                || !SectionChecker.KeysOf(other.OptionsType).Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found is not null)
            {
                return null;
            }

            found = other.Name + ":" + key;
        }

        return found;
    }
}
