using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// Walks every key under one section against the options types bound to it, before anything binds: a key that no
/// property takes is unknown, and a value its property cannot take is unconvertible. The stock binder ignores the
/// first and throws at the first of the second; this reports each one, naming its full key.
/// </summary>
internal static class SectionChecker
{
    /// <param name="types">The options types bound to the section; their properties together are its known keys.</param>
    /// <param name="elsewhere">For an unknown key right under the section: another section that knows it, or null.</param>
    public static void Check(IConfigurationSection section, IReadOnlyList<Type> types, Func<string, string?> elsewhere, List<ConfigurationProblem> problems)
    {
        if (types.Count == 1 && !IsObject(types[0]))
        {
            CheckNode(section, types[0], problems);
            return;
        }

        var properties = new List<PropertyInfo>();
        foreach (var type in types)
        {
            properties.AddRange(KnownProperties(type));
        }

        CheckObject(section, properties, elsewhere, problems);
    }

    /// <summary>The keys right under a section bound to <paramref name="type"/>; none when it is a list or a dictionary.</summary>
    public static IEnumerable<string> KeysOf(Type type) =>
        IsObject(type) ? KnownProperties(type).Select(p => p.Name) : [];

    /// <summary>The settable properties the binder fills: public, with a public setter unless it binds into the existing value.</summary>
    public static IReadOnlyList<PropertyInfo> KnownProperties(Type type)
    {
        var known = new List<PropertyInfo>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && property.GetMethod is { IsPublic: true }
                && (property.SetMethod is { IsPublic: true } || !ValueConversion.IsLeaf(property.PropertyType)))
            {
                known.Add(property);
            }
        }

        return known;
    }

    private static void CheckNode(IConfigurationSection node, Type type, List<ConfigurationProblem> problems)
    {
        if (ValueConversion.IsLeaf(type))
        {
            CheckLeaf(node, type, problems);
        }
        else if (ElementType(type) is { } element)
        {
            CheckList(node, element, problems);
        }
        else if (DictionaryValueType(type) is { } value)
        {
            ReportValueOnSection(node, problems);
            foreach (var child in node.GetChildren())
            {
                CheckNode(child, value, problems);
            }
        }
        else
        {
            CheckObject(node, KnownProperties(type), static _ => null, problems);
        }
    }

    private static void CheckLeaf(IConfigurationSection node, Type type, List<ConfigurationProblem> problems)
    {
        foreach (var child in node.GetChildren())
        {
            problems.Add(new(child.Path, $"{child.Path} is not a known key; {node.Path} is a value, not a section.", BlocksBinding: false));
        }

        if (node.Value is { } text && !ValueConversion.TryConvert(text, type, out var reason))
        {
            problems.Add(new(node.Path, $"{node.Path} '{text}' {reason}.", BlocksBinding: true));
        }
    }

    private static void CheckList(IConfigurationSection node, Type element, List<ConfigurationProblem> problems)
    {
        ReportValueOnSection(node, problems);
        foreach (var child in node.GetChildren())
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                // The binder would take it as one more entry, in an order nobody meant.
                problems.Add(new(child.Path, $"{child.Path} is not an entry of the list {node.Path}; entries are numbered from 0 ({node.Path}:0:...).", BlocksBinding: true));
                continue;
            }

            CheckNode(child, element, problems);
        }
    }

    private static void CheckObject(IConfigurationSection node, IReadOnlyList<PropertyInfo> properties, Func<string, string?> elsewhere, List<ConfigurationProblem> problems)
    {
        ReportValueOnSection(node, problems);
        foreach (var child in node.GetChildren())
        {
            var known = false;
            foreach (var property in properties)
            {
                if (string.Equals(property.Name, child.Key, StringComparison.OrdinalIgnoreCase))
                {
                    known = true;
                    CheckNode(child, property.PropertyType, problems);
                    break;
                }
            }

            if (!known)
            {
                var names = string.Join(", ", properties.Select(p => p.Name).Distinct(StringComparer.Ordinal));
                var hint = elsewhere(child.Key) is { } other ? $"; did you mean {other}?" : ".";
                problems.Add(new(child.Path, $"{child.Path} is not a known key; known keys in {node.Path}: {names}{hint}", BlocksBinding: false));
            }
        }
    }

    private static void ReportValueOnSection(IConfigurationSection node, List<ConfigurationProblem> problems)
    {
        // An empty value is how the JSON provider writes an empty array ("Registries": []). Any other value is
        // never bound; its text is not echoed, as it might be anything.
        if (!string.IsNullOrEmpty(node.Value))
        {
            problems.Add(new(node.Path, $"{node.Path} is a section, not a value; set its keys ({node.Path}:<key>=...).", BlocksBinding: false));
        }
    }

    private static bool IsObject(Type type) =>
        !ValueConversion.IsLeaf(type) && ElementType(type) is null && DictionaryValueType(type) is null;

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(ICollection<>)
            || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>)
            || definition == typeof(HashSet<>) || definition == typeof(ISet<>)
            ? type.GetGenericArguments()[0]
            : null;
    }

    private static Type? DictionaryValueType(Type type)
    {
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)
            ? type.GetGenericArguments()[1]
            : null;
    }
}
