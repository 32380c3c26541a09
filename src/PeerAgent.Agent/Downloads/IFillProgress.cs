using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// How a fill reports up to the download that owns it; the only way anything below the download talks back.
/// </summary>
internal interface IFillProgress
{
    /// <summary>The first <paramref name="available"/> bytes of the blob are written (a piece streaming in order).</summary>
    void Streamed(long available);

    /// <summary>Piece <paramref name="index"/> verified against <paramref name="sha256"/> and is present.</summary>
    void PieceStored(int index, Digest sha256);
}
