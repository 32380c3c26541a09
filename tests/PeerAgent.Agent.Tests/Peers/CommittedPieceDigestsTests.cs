using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Testing;

namespace PeerAgent.Agent.Tests.Peers;

public sealed class CommittedPieceDigestsTests : IAsyncLifetime
{
    private const int PieceSize = PieceLayout.MinPieceSize;
    private readonly TempDir _dir = new("digests");
    private ContentStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new ContentStore(new ContentStoreOptions { RootPath = _dir.Sub("store") }, TimeProvider.System);
        await _store.InitializeAsync(default);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task GetAllAsync_BlobWithoutMetadata_ComputesAndPersistsThemInTheStore()
    {
        var content = TestContent.Random((2 * PieceSize) + 7);
        var digest = await PutWithoutMetadataAsync(content);
        var layout = PieceLayout.For(content.Length);
        var digests = new CommittedPieceDigests(_store);

        ReadOnlyMemory<byte> all;
        using (var reader = OpenRead(digest))
        {
            all = await digests.GetAllAsync(reader, layout, default);
        }

        Split(all).Should().Equal(Expected(content));
        _store.TryGetPieceDigests(digest, out var persisted).Should().BeTrue("a complete set goes to the store");
        persisted.ToArray().Should().Equal(all.ToArray());
        await RestartStoreAsync();
        _store.TryGetPieceDigests(digest, out var afterRestart).Should().BeTrue("the store keeps them across a restart, no re-hashing");
        afterRestart.ToArray().Should().Equal(all.ToArray());
    }

    [Fact]
    public async Task GetAsync_EveryPieceOneByOne_PersistsOnceTheSetIsComplete()
    {
        var content = TestContent.Random((2 * PieceSize) + 7);
        var digest = await PutWithoutMetadataAsync(content);
        var layout = PieceLayout.For(content.Length);
        var digests = new CommittedPieceDigests(_store);
        using var reader = OpenRead(digest);

        (await digests.GetAsync(reader, layout, 2, default)).Should().Be(Expected(content)[2]);
        (await digests.GetAsync(reader, layout, 0, default)).Should().Be(Expected(content)[0]);
        _store.TryGetPieceDigests(digest, out _).Should().BeFalse("a set with a piece missing stays in memory");
        (await digests.GetAsync(reader, layout, 1, default)).Should().Be(Expected(content)[1]);

        _store.TryGetPieceDigests(digest, out var persisted).Should().BeTrue();
        Split(persisted).Should().Equal(Expected(content));
    }

    [Fact]
    public async Task GetAsync_DigestsRecordedInTheStore_TakenFromTheStoreNotFromTheBytes()
    {
        var content = TestContent.Random(PieceSize + 7);
        var digest = await PutWithoutMetadataAsync(content);
        var recorded = Enumerable.Range(0, 2).SelectMany(i => Convert.FromHexString(Digest.Compute([(byte)i]).Hex)).ToArray();
        _store.SetPieceDigests(digest, recorded);
        using var reader = OpenRead(digest);

        var got = await new CommittedPieceDigests(_store).GetAsync(reader, PieceLayout.For(content.Length), 1, default);

        got.Should().Be(Digest.Compute([1]), "the store's record wins; the bytes are not hashed again");
    }

    private async Task<Digest> PutWithoutMetadataAsync(byte[] content)
    {
        var digest = Digest.Compute(content);
        await _store.PutAsync(digest, content, default);
        _store.TryGetPieceDigests(digest, out _).Should().BeFalse("PutAsync records no piece digests");
        return digest;
    }

    private BlobReader OpenRead(Digest digest)
    {
        _store.TryOpenRead(digest, out var reader).Should().BeTrue();
        return reader!;
    }

    private async Task RestartStoreAsync()
    {
        _store.Dispose();
        _store = new ContentStore(new ContentStoreOptions { RootPath = _dir.Sub("store") }, TimeProvider.System);
        await _store.InitializeAsync(default);
    }

    private static List<Digest> Expected(byte[] content)
    {
        var layout = PieceLayout.For(content.Length);
        return Enumerable.Range(0, layout.PieceCount)
            .Select(i => Digest.Compute(content.AsSpan((int)layout.OffsetOf(i), layout.LengthOf(i))))
            .ToList();
    }

    private static List<Digest> Split(ReadOnlyMemory<byte> sha256s)
    {
        var list = new List<Digest>();
        for (var i = 0; i < sha256s.Length; i += 32)
        {
            list.Add(Digest.FromHash("sha256", sha256s.Span.Slice(i, 32)));
        }

        return list;
    }
}
