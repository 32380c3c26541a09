using PeerAgent.Testing;

namespace PeerAgent.FunctionalTests.Fixtures;

/// <summary>An origin docker-registry with one pushed multi-layer test image, shared by a test class.</summary>
public abstract class OriginFixtureBase : IAsyncLifetime
{
    private readonly TempDir _work = new("origin-work");
    private RegistryProcess? _origin;
    private TestImage? _image;

    public RegistryProcess Origin => _origin ?? throw new InvalidOperationException("Fixture not initialised.");

    public TestImage Image => _image ?? throw new InvalidOperationException("Fixture not initialised.");

    protected virtual RegistryOptions RegistryOptions => new();

    /// <summary>The image's layer sizes; null for <see cref="TestImageBuilder.DefaultLayerSizes"/>.</summary>
    protected virtual IReadOnlyList<long>? LayerSizes => null;

    public async Task InitializeAsync()
    {
        _origin = await RegistryProcess.StartAsync(RegistryOptions);
        _image = await TestImageBuilder.BuildAndPushAsync(_origin, _work, repository: "peeragent/app", tag: "v1", layerSizes: LayerSizes);
    }

    public Task DisposeAsync()
    {
        _origin?.Dispose();
        _work.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>An origin without authentication.</summary>
public sealed class OriginFixture : OriginFixtureBase
{
}

/// <summary>
/// An origin with an image large enough for piece exchange: layers of 8, 24 and 40 MiB (random, so incompressible).
/// Pieces are length/500 rounded up to a power of two and clamped to 4-64 MiB, so 4 MiB here: the gzip layers, a little
/// over 8, 24 and 40 MiB, have 3, 7 and 11 pieces.
/// </summary>
public sealed class LargeImageOriginFixture : OriginFixtureBase
{
    protected override IReadOnlyList<long>? LayerSizes => [8L << 20, 24L << 20, 40L << 20];
}

/// <summary>An origin that requires HTTP Basic credentials (htpasswd).</summary>
public sealed class AuthOriginFixture : OriginFixtureBase
{
    public const string User = "puller";

    // Random per run so a leak check cannot pass by accident and nothing guessable sits in logs.
    public string Password { get; } = "pw-" + Guid.NewGuid().ToString("N")[..20];

    protected override RegistryOptions RegistryOptions => new() { User = User, Password = Password };
}
