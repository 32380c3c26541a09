using PeerAgent.Core.Pieces;

namespace PeerAgent.Core.Tests.Pieces;

public class PieceLayoutTests
{
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;

    [Fact]
    public void For_Zero_NoPieces()
    {
        var layout = PieceLayout.For(0);

        layout.Length.Should().Be(0);
        layout.PieceCount.Should().Be(0);
        layout.PieceSize.Should().Be((int)(4 * MiB));
    }

    [Fact]
    public void For_OneByte_OnePieceOfOneByte()
    {
        var layout = PieceLayout.For(1);

        layout.PieceCount.Should().Be(1);
        layout.PieceSize.Should().Be((int)(4 * MiB));
        layout.LengthOf(0).Should().Be(1);
    }

    [Fact]
    public void For_Exactly4MiB_OneFullPiece()
    {
        var layout = PieceLayout.For(4 * MiB);

        layout.PieceCount.Should().Be(1);
        layout.LengthOf(0).Should().Be((int)(4 * MiB));
    }

    [Fact]
    public void For_4MiBPlusOne_SecondPieceIsOneByte()
    {
        var layout = PieceLayout.For((4 * MiB) + 1);

        layout.PieceSize.Should().Be((int)(4 * MiB));
        layout.PieceCount.Should().Be(2);
        layout.OffsetOf(1).Should().Be(4 * MiB);
        layout.LengthOf(1).Should().Be(1);
    }

    [Fact]
    public void For_2GiB_8MiBPieces()
    {
        // ceil(2 GiB / 500) = 4,294,968 bytes, rounded up to the next power of two = 8 MiB.
        var layout = PieceLayout.For(2 * GiB);

        layout.PieceSize.Should().Be((int)(8 * MiB));
        layout.PieceCount.Should().Be(256);
    }

    [Fact]
    public void For_100GiB_ClampedTo64MiB()
    {
        var layout = PieceLayout.For(100 * GiB);

        layout.PieceSize.Should().Be((int)(64 * MiB), "ceil(100 GiB / 500) rounds up to 256 MiB, above the 64 MiB cap");
        layout.PieceCount.Should().Be(1600);
    }

    [Fact]
    public void For_500PiecesOf4MiBBoundary_SwitchesToNextPowerOfTwoJustAbove()
    {
        PieceLayout.For(500 * 4 * MiB).PieceSize.Should().Be((int)(4 * MiB));
        PieceLayout.For((500 * 4 * MiB) + 1).PieceSize.Should().Be((int)(8 * MiB));
    }

    [Fact]
    public void For_Negative_ThrowsArgumentOutOfRange()
    {
        var act = () => PieceLayout.For(-1);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void For_LengthNeedingMoreThanIntMaxPieces_ThrowsArgumentOutOfRange()
    {
        var act = () => PieceLayout.For(long.MaxValue);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(4L * MiB)]
    [InlineData((4L * MiB) + 1)]
    [InlineData((13L * MiB) + 12345)]
    [InlineData(2L * GiB)]
    [InlineData((3L * GiB) + 7)]
    [InlineData(100L * GiB)]
    [InlineData(1000L * GiB)]
    public void For_AnyLength_PiecesTileTheBlobExactly(long length)
    {
        var layout = PieceLayout.For(length);

        layout.PieceSize.Should().BeInRange((int)(4 * MiB), (int)(64 * MiB));
        (layout.PieceSize & (layout.PieceSize - 1)).Should().Be(0, "piece size is a power of two");
        long expectedOffset = 0;
        for (var i = 0; i < layout.PieceCount; i++)
        {
            layout.OffsetOf(i).Should().Be(expectedOffset);
            var pieceLength = layout.LengthOf(i);
            pieceLength.Should().BeInRange(1, layout.PieceSize);
            if (i < layout.PieceCount - 1)
            {
                pieceLength.Should().Be(layout.PieceSize, "only the last piece may be short");
            }

            layout.IndexOf(expectedOffset).Should().Be(i);
            layout.IndexOf(expectedOffset + pieceLength - 1).Should().Be(i);
            expectedOffset += pieceLength;
        }

        expectedOffset.Should().Be(length);
    }

    [Fact]
    public void For_SameLength_SameLayout()
    {
        PieceLayout.For((7 * GiB) + 3).Should().Be(PieceLayout.For((7 * GiB) + 3));
        PieceLayout.For(7 * GiB).Should().NotBe(PieceLayout.For((7 * GiB) + 3));
    }

    [Fact]
    public void OffsetOfAndIndexOf_OutOfRange_Throw()
    {
        var layout = PieceLayout.For(10 * MiB);

        layout.Invoking(l => l.OffsetOf(3)).Should().Throw<ArgumentOutOfRangeException>();
        layout.Invoking(l => l.LengthOf(-1)).Should().Throw<ArgumentOutOfRangeException>();
        layout.Invoking(l => l.IndexOf(10 * MiB)).Should().Throw<ArgumentOutOfRangeException>();
        layout.Invoking(l => l.IndexOf(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
