using System.Text.RegularExpressions;

namespace PeerAgent.Core.Oci;

/// <summary>Repository name and tag rules of the OCI distribution spec.</summary>
public static partial class OciNames
{
    /// <summary>The distribution spec caps a repository name (without the registry host) at 255 characters.</summary>
    internal const int MaxRepositoryLength = 255;

    /// <summary>True when <paramref name="name"/> matches <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c> and is at most 255 characters.</summary>
    public static bool IsValidRepository(string name) =>
        // Length first: it bounds the regex's work on hostile input.
        !string.IsNullOrEmpty(name) && name.Length <= MaxRepositoryLength && RepositoryRegex().IsMatch(name);

    /// <summary>True when <paramref name="tag"/> matches <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
    public static bool IsValidTag(string tag) =>
        !string.IsNullOrEmpty(tag) && tag.Length <= 128 && TagRegex().IsMatch(tag);

    // \z rather than $: $ would accept a trailing newline.
    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryRegex();

    [GeneratedRegex(@"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();
}
