using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Core.Tests.TestSupport;

internal static class ContentStoreTestExtensions
{
    /// <summary>Opens a partial blob where the test expects to get it; fails the test with the result otherwise.</summary>
    public static PartialBlob OpenPartialOrFail(this ContentStore store, Digest digest, long length)
    {
        store.TryOpenPartial(digest, length, out var partial).Should().Be(PartialOpenResult.Opened, "the test expects to open the partial of {0}", digest);
        return partial!;
    }
}
