using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Tests.Pieces;

public class PieceBitmapTests
{
    [Fact]
    public void Set_SameIndexTwice_CountedOnce()
    {
        var bitmap = new PieceBitmap(10);

        bitmap.Set(3);
        bitmap.Set(3);

        bitmap[3].Should().BeTrue();
        bitmap[2].Should().BeFalse();
        bitmap.SetCount.Should().Be(1);
    }

    [Fact]
    public void Clear_SetBit_ClearsAndDecrements()
    {
        var bitmap = new PieceBitmap(70);
        bitmap.Set(65);

        bitmap.Clear(65);
        bitmap.Clear(65);

        bitmap[65].Should().BeFalse();
        bitmap.SetCount.Should().Be(0);
    }

    [Fact]
    public void FirstMissing_AcrossWordBoundary_FindsFirstGap()
    {
        var bitmap = new PieceBitmap(130);
        for (var i = 0; i < 100; i++)
        {
            bitmap.Set(i);
        }

        bitmap.FirstMissing().Should().Be(100);
        bitmap.IsComplete.Should().BeFalse();
    }

    [Fact]
    public void FirstMissing_AllSet_ReturnsCountAndIsComplete()
    {
        var bitmap = new PieceBitmap(67);
        for (var i = 0; i < 67; i++)
        {
            bitmap.Set(i);
        }

        bitmap.FirstMissing().Should().Be(67);
        bitmap.IsComplete.Should().BeTrue();
    }

    [Fact]
    public void Empty_ZeroPieces_IsComplete()
    {
        var bitmap = new PieceBitmap(0);

        bitmap.IsComplete.Should().BeTrue();
        bitmap.FirstMissing().Should().Be(0);
        bitmap.ToBytes().Should().BeEmpty();
    }

    [Fact]
    public void ToBytes_LeastSignificantBitFirst()
    {
        var bitmap = new PieceBitmap(10);
        bitmap.Set(0);
        bitmap.Set(9);

        bitmap.ToBytes().Should().Equal(0x01, 0x02);
    }

    [Fact]
    public void FromBytes_ToBytesOutput_RoundTrips()
    {
        var bitmap = new PieceBitmap(200);
        foreach (var i in new[] { 0, 1, 63, 64, 65, 127, 128, 199 })
        {
            bitmap.Set(i);
        }

        var copy = PieceBitmap.FromBytes(200, bitmap.ToBytes());

        copy.SetCount.Should().Be(8);
        for (var i = 0; i < 200; i++)
        {
            copy[i].Should().Be(bitmap[i], $"piece {i} must survive the round trip");
        }
    }

    [Fact]
    public void FromBytes_WrongLength_Throws()
    {
        var act = () => PieceBitmap.FromBytes(9, new byte[1]);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void FromBytes_BitBeyondCount_Throws()
    {
        var act = () => PieceBitmap.FromBytes(9, new byte[] { 0x00, 0x02 });

        act.Should().Throw<ArgumentException>().WithMessage("*beyond*");
    }

    [Fact]
    public void Indexer_OutOfRange_Throws()
    {
        var bitmap = new PieceBitmap(4);

        bitmap.Invoking(b => b[4]).Should().Throw<ArgumentOutOfRangeException>();
        bitmap.Invoking(b => b.Set(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Set_FromManyThreads_EveryBitCountedOnce()
    {
        const int Count = 10_000;
        var bitmap = new PieceBitmap(Count);

        Parallel.For(0, Count * 2, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => bitmap.Set(i % Count));

        bitmap.SetCount.Should().Be(Count);
        bitmap.IsComplete.Should().BeTrue();
    }
}
