using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Tests.Configuration;

/// <summary>The shared options pipeline (PeerAgent.Hosting) on options types of its own, apart from any process.</summary>
public sealed class SectionOptionsTests
{
    [Fact]
    public void Validate_ValidSection_TheValidatedInstanceIsTheOneConsumersGet()
    {
        var validator = new SampleValidator();
        using var provider = Provider(validator, ("Sample:Count", "5"));

        ConfigurationValidation.Validate(provider).Should().BeEmpty();

        var injected = provider.GetRequiredService<IOptions<SampleOptions>>().Value;
        injected.Count.Should().Be(5);
        validator.Seen.Should().ContainSingle().Which.Should().BeSameAs(injected, "the instance that is validated is the instance that is used");
    }

    [Fact]
    public void Validate_TwoUnconvertibleValuesAndAnInvalidOne_ReportsAllThree()
    {
        var validator = new SampleValidator();
        using var provider = Provider(validator, ("Sample:Count", "abc"), ("Sample:Every", "soon"), ("Sample:Name", ""));

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Count 'abc' is not a whole number.",
            "Sample:Every 'soon' is not a time span such as 00:00:10 (hh:mm:ss).",
            "Sample:Name is empty.");
        validator.Seen.Should().ContainSingle().Which.Count.Should().Be(1, "a value that does not convert keeps its default, so it is not reported twice");
    }

    [Theory]
    [InlineData("99999999999", "Sample:Count '99999999999' is out of range (-2147483648 to 2147483647).")]
    [InlineData("", "Sample:Count '' is not a whole number.")]
    public void Validate_NumberTheBinderRefuses_SaysWhy(string value, string expected)
    {
        using var provider = Provider(new SampleValidator(), ("Sample:Count", value));

        ConfigurationValidation.Validate(provider).Should().Equal(expected);
    }

    [Fact]
    public void Validate_UnknownKey_NamesTheKnownKeysOfItsSection()
    {
        using var provider = Provider(new SampleValidator(), ("Sample:Cuont", "3"));

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Cuont is not a known key; known keys in Sample: Count, Every, Name, Entries.");
    }

    [Fact]
    public void Validate_ProblemsInsideAList_NameTheEntry()
    {
        using var provider = Provider(
            new SampleValidator(),
            ("Sample:Entries:0:Hots", "a"),
            ("Sample:Entries:first:Host", "b"),
            ("Sample:Entries:1:Secure", "perhaps"),
            ("Sample:Entries:1:Host:Port", "1"));

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Entries:0:Hots is not a known key; known keys in Sample:Entries:0: Host, Secure.",
            "Sample:Entries:1:Host:Port is not a known key; Sample:Entries:1:Host is a value, not a section.",
            "Sample:Entries:1:Secure 'perhaps' is not true or false.",
            "Sample:Entries:first is not an entry of the list Sample:Entries; entries are numbered from 0 (Sample:Entries:0:...).");
    }

    [Fact]
    public void Validate_EmptyListAsJsonWritesIt_IsFine()
    {
        // appsettings.json's "Registries": [] reaches configuration as an empty value on the list itself.
        using var provider = Provider(new SampleValidator(), ("Sample:Entries", ""));

        ConfigurationValidation.Validate(provider).Should().BeEmpty();
    }

    [Fact]
    public void Validate_SectionsNobodyRegistered_AreLeftAlone()
    {
        using var provider = Provider(new SampleValidator(), ("Logging:LogLevel:Default", "Debug"), ("Other:Anything", "x"), ("AllowedHosts", "*"));

        ConfigurationValidation.Validate(provider).Should().BeEmpty();
    }

    [Fact]
    public void Validate_TwoTypesShareASection_KnowsTheKeysOfBoth()
    {
        var configuration = Configuration(("Sample:Count", "2"), ("Sample:Url", "http://x"), ("Sample:Colour", "red"));
        using var provider = new ServiceCollection()
            .AddSectionOptions(configuration, "Sample", new SampleValidator())
            .AddSectionOptions<OtherOptions>(configuration, "Sample")
            .BuildServiceProvider();

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Colour is not a known key; known keys in Sample: Count, Every, Name, Entries, Url.");
        provider.GetRequiredService<IOptions<OtherOptions>>().Value.Url.Should().Be("http://x");
    }

    [Fact]
    public void Validate_KeyKnownInExactlyOneOtherSection_SuggestsIt()
    {
        var configuration = Configuration(("Sample:Url", "http://x"));
        using var provider = new ServiceCollection()
            .AddSectionOptions(configuration, "Sample", new SampleValidator())
            .AddSectionOptions<OtherOptions>(configuration, "Other")
            .BuildServiceProvider();

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Url is not a known key; known keys in Sample: Count, Every, Name, Entries; did you mean Other:Url?");
    }

    [Fact]
    public void Validate_KeyOnlyAListTypeHas_IsNotSuggested()
    {
        // List<T>.Capacity is a settable property, but not a key of a list section.
        var configuration = Configuration(("Sample:Capacity", "3"));
        using var provider = new ServiceCollection()
            .AddSectionOptions(configuration, "Sample", new SampleValidator())
            .AddSectionOptions<List<SampleEntry>>(configuration, "Items")
            .BuildServiceProvider();

        ConfigurationValidation.Validate(provider).Should().Equal(
            "Sample:Capacity is not a known key; known keys in Sample: Count, Every, Name, Entries.");
    }

    [Fact]
    public void AddSectionOptions_TypeAlreadyBound_Throws()
    {
        var configuration = Configuration();
        var services = new ServiceCollection().AddSectionOptions<OtherOptions>(configuration, "Other");

        var again = () => services.AddSectionOptions<OtherOptions>(configuration, "Another");

        again.Should().Throw<InvalidOperationException>().WithMessage("*OtherOptions*Other*");
    }

    private static ServiceProvider Provider(SampleValidator validator, params (string Key, string Value)[] values) =>
        new ServiceCollection().AddSectionOptions(Configuration(values), "Sample", validator).BuildServiceProvider();

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    private sealed class SampleOptions
    {
        public int Count { get; set; } = 1;

        public TimeSpan Every { get; set; } = TimeSpan.FromSeconds(1);

        public string Name { get; set; } = "sample";

        public List<SampleEntry> Entries { get; set; } = [];

        public bool IsBig => Count > 10;
    }

    private sealed class SampleEntry
    {
        public string Host { get; set; } = "";

        public bool Secure { get; set; }
    }

    private sealed class OtherOptions
    {
        public string Url { get; set; } = "";
    }

    private sealed class SampleValidator : OptionsValidator<SampleOptions>
    {
        public List<SampleOptions> Seen { get; } = [];

        protected override void Validate(SampleOptions options, ICollection<string> errors)
        {
            Seen.Add(options);
            if (string.IsNullOrEmpty(options.Name))
            {
                errors.Add("Sample:Name is empty.");
            }

            if (options.IsBig)
            {
                errors.Add($"Sample:Count must be at most 10, not {options.Count}.");
            }
        }
    }
}
