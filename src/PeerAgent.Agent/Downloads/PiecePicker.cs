using PeerAgent.Core.Pieces;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// Rarest first: among the pieces this download still wants, the one the fewest live parents hold (lowest index
/// on ties, so it streams soonest), from the least busy parent that holds it and can take a request now.
/// </summary>
internal static class PiecePicker
{
    /// <summary>Returns the piece and its parent, or (-1, null) when no wanted piece can be asked of anyone now.</summary>
    /// <param name="wanted">Pieces neither present nor claimed.</param>
    public static (int Piece, ParentLink? Parent) Pick(PieceBitmap wanted, IReadOnlyCollection<ParentLink> parents, long now)
    {
        var best = -1;
        ParentLink? bestParent = null;
        var bestHolders = int.MaxValue;
        for (var i = 0; i < wanted.Count; i++)
        {
            if (!wanted[i])
            {
                continue;
            }

            var holders = 0;
            ParentLink? chosen = null;
            foreach (var parent in parents)
            {
                if (!parent.Holds(i))
                {
                    continue;
                }

                holders++;
                if (parent.CanServe(i, now)
                    && (chosen is null || parent.InFlight < chosen.InFlight || (parent.InFlight == chosen.InFlight && parent.Failures < chosen.Failures)))
                {
                    chosen = parent;
                }
            }

            if (chosen is not null && holders < bestHolders)
            {
                (best, bestParent, bestHolders) = (i, chosen, holders);
                if (holders == 1)
                {
                    break; // cannot get rarer
                }
            }
        }

        return (best, bestParent);
    }
}
