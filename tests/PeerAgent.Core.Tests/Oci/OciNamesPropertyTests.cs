using CsCheck;
using PeerAgent.Core.Oci;

namespace PeerAgent.Core.Tests.Oci;

/// <summary>
/// The OCI distribution spec's name and tag grammar, checked against a matcher written here from the spec's text
/// (not the implementation's regex):
/// name <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c>, at most 255 characters;
/// tag <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.
/// </summary>
public sealed class OciNamesPropertyTests
{
    private static readonly Gen<string> Alnum = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[1, 8].Select(chars => new string(chars));
    private static readonly Gen<string> Separator = Gen.OneOf(".", "_", "__", "-", "--", "----");

    private static readonly Gen<string> Component =
        Gen.Select(Alnum, Gen.Select(Separator, Alnum, (separator, run) => separator + run).Array[0, 3], (head, tail) => head + string.Concat(tail));

    private static readonly Gen<string> ValidName = Component.Array[1, 6].Select(components => string.Join('/', components));

    [Fact]
    public void IsValidRepository_AnyString_AcceptsExactlyTheSpecGrammar()
    {
        var nameish = Gen.Char["az09._-/A :é\n"].Array[0, 24].Select(chars => new string(chars));
        var longName = Gen.Int[250, 260].Select(n => new string('a', n));
        var candidates = Gen.OneOf(Gen.String, nameish, ValidName, longName);

        candidates.Sample(name =>
            OciNames.IsValidRepository(name).Should().Be(MatchesNameGrammar(name) && name.Length <= 255, because: $"'{name}'"));
    }

    [Fact]
    public void IsValidRepository_GeneratedName_Accepted()
    {
        ValidName.Where(name => name.Length <= 255).Sample(name => OciNames.IsValidRepository(name).Should().BeTrue(name));
    }

    [Fact]
    public void IsValidRepository_GeneratedNameWithOneFault_Rejected()
    {
        var fault = Gen.OneOf<Func<string, string>>(
            n => "/" + n,
            n => n + "/",
            n => n + "-",
            n => "." + n,
            n => n.Replace("/", "//", StringComparison.Ordinal) + "//x",
            n => n + "___x",
            n => n + ".-x",
            n => n + "..x",
            n => n.ToUpperInvariant() + "A",
            n => n + ":latest",
            n => n + "\n");

        Gen.Select(ValidName, fault).Sample((name, apply) =>
        {
            var broken = apply(name);
            OciNames.IsValidRepository(broken).Should().BeFalse(because: $"'{broken}' breaks the grammar");
        });
    }

    [Fact]
    public void IsValidTag_AnyString_AcceptsExactlyTheSpecGrammar()
    {
        var tagish = Gen.Char["aZ9_.-/:+ "].Array[0, 12].Select(chars => new string(chars));
        var longTag = Gen.Int[126, 130].Select(n => new string('t', n));

        Gen.OneOf(Gen.String, tagish, longTag).Sample(tag =>
            OciNames.IsValidTag(tag).Should().Be(MatchesTagGrammar(tag), because: $"'{tag}'"));
    }

    /// <summary>Components split by '/'; each alternates runs of [a-z0-9] with one separator: '.', '_', '__' or '-'+.</summary>
    private static bool MatchesNameGrammar(string name)
    {
        foreach (var component in name.Split('/'))
        {
            var i = 0;
            while (true)
            {
                var run = i;
                while (i < component.Length && IsLowerAlnum(component[i]))
                {
                    i++;
                }

                if (i == run)
                {
                    return false; // empty component, or a separator not between two runs
                }

                if (i == component.Length)
                {
                    break;
                }

                var separator = i;
                while (i < component.Length && !IsLowerAlnum(component[i]))
                {
                    i++;
                }

                var text = component[separator..i];
                if (text is not ("." or "_" or "__") && text.Any(c => c != '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool MatchesTagGrammar(string tag) =>
        tag.Length is >= 1 and <= 128
        && (char.IsAsciiLetterOrDigit(tag[0]) || tag[0] == '_')
        && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static bool IsLowerAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
