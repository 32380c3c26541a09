using PeerAgent.Agent.Downloads;
using PeerAgent.Core.Pieces;

namespace PeerAgent.Agent.Tests.Downloads;

public sealed class PiecePickerTests
{
    private static readonly byte[] Content = new byte[1];

    [Fact]
    public void Pick_PieceHeldByOneParentOnly_ComesBeforeCommonPieces()
    {
        var full = Link("full", 4, 0, 1, 2, 3);
        var half = Link("half", 4, 0, 1);

        var (piece, parent) = PiecePicker.Pick(All(4), [full, half], now: 0);

        piece.Should().Be(2, "2 and 3 have one holder each, 0 and 1 two; the lowest of the rarest streams soonest");
        parent.Should().BeSameAs(full);
    }

    [Fact]
    public void Pick_CommonPiece_GoesToTheLeastBusyHolder()
    {
        var busy = Link("busy", 2, 0, 1);
        busy.InFlight = 1;
        var idle = Link("idle", 2, 0, 1);

        var (piece, parent) = PiecePicker.Pick(All(2), [busy, idle], now: 0);

        piece.Should().Be(0);
        parent.Should().BeSameAs(idle);
    }

    [Fact]
    public void Pick_RarestPiecesHolderIsSaturated_PicksAPieceSomeoneCanServeNow()
    {
        var only = Link("only", 3, 0, 1, 2);
        only.InFlight = ParentLink.MaxInFlight;
        var other = Link("other", 3, 0, 1);

        var (piece, parent) = PiecePicker.Pick(All(3), [only, other], now: 0);

        piece.Should().Be(0, "piece 2 is rarest but its only holder is full; waiting for it would idle the other parent");
        parent.Should().BeSameAs(other);
    }

    [Fact]
    public void Pick_DeadBusyOrNotWanted_NothingToPick()
    {
        var dead = Link("dead", 2, 0, 1);
        dead.Dead = true;
        var busy = Link("busy", 2, 0);
        busy.BusyUntil = 100;
        var wanted = new PieceBitmap(2);
        wanted.Set(0);

        PiecePicker.Pick(wanted, [dead, busy], now: 50).Piece.Should().Be(-1);
        PiecePicker.Pick(wanted, [dead, busy], now: 100).Piece.Should().Be(0, "a busy parent is asked again once its backoff ends");
    }

    private static PieceBitmap All(int count)
    {
        var bitmap = new PieceBitmap(count);
        for (var i = 0; i < count; i++)
        {
            bitmap.Set(i);
        }

        return bitmap;
    }

    private static ParentLink Link(string host, int pieceCount, params int[] held)
    {
        var link = new ParentLink(host, $"http://{host}:1", new FakeParent(host, Content), CancellationToken.None)
        {
            Have = new PieceBitmap(pieceCount),
        };
        foreach (var index in held)
        {
            link.Have.Set(index);
        }

        return link;
    }
}
