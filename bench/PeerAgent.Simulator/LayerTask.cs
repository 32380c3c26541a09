using PeerAgent.Core.Oci;

namespace PeerAgent.Simulator;

/// <summary>One layer of the image as a scheduler task: its digest, its bytes and how they are cut into pieces.</summary>
/// <param name="SchedulerLength">
/// The length announced to the scheduler. The scheduler cuts a blob with <c>PieceLayout.For(length)</c>; when the
/// simulation's piece size differs from the product's, this is a length that the product's rule cuts into the same
/// number of pieces (the scheduler only counts pieces, it never sees bytes).
/// </param>
internal sealed record LayerTask(int Index, Digest Digest, long Length, long PieceSize, int PieceCount, long SchedulerLength)
{
    public long LengthOf(int piece) => Math.Min(PieceSize, Length - (piece * PieceSize));
}
