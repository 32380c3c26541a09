using PeerAgent.Core.Pieces;

namespace PeerAgent.Simulator.Tests;

public class SimulationTests
{
    private static Scenario Small(int nodes = 10) => new()
    {
        Name = "test",
        Nodes = nodes,
        ImageBytes = 8 * Scenario.MiB,
        Layers = 2,
        PieceBytes = Scenario.MiB,
        NodeUpBits = 1e9,
        NodeDownBits = 1e9,
        OriginBits = 2e9,
    };

    [Fact]
    public void Run_TenNodes_EveryNodeCompletesFromOneOriginCopy()
    {
        var result = new Simulation(Small()).Run();

        result.Violations.Should().BeEmpty();
        result.Completed.Should().Be(10);
        result.OriginBytes.Should().Be(8 * Scenario.MiB, "one back-to-source peer per layer reads it once and nobody stalls");
        result.PeerBytes.Should().Be(9 * 8 * Scenario.MiB, "every other node gets every byte from peers");
        result.P50.Should().BeGreaterThanOrEqualTo(result.IdealSeconds, "no node beats its own link");
    }

    [Fact]
    public void Run_SameScenarioTwice_SameFigures()
    {
        var first = new Simulation(Small()).Run();
        var second = new Simulation(Small()).Run();

        second.P50.Should().Be(first.P50);
        second.Max.Should().Be(first.Max);
        second.CrossZoneBytes.Should().Be(first.CrossZoneBytes);
        second.Decisions.Should().Be(first.Decisions);
    }

    [Fact]
    public void Run_NodesLeaveMidDownload_OthersStillComplete()
    {
        var scenario = Small(20);
        scenario.LeavePercent = 20;

        var result = new Simulation(scenario).Run();

        result.Violations.Should().BeEmpty();
        result.Left.Should().Be(4);
        result.Completed.Should().Be(16);
    }

    [Fact]
    public void Run_MaxMinSharingAndUploadQueue_EveryNodeCompletes()
    {
        var scenario = Small(12);
        scenario.MaxMinSharing = true;
        scenario.MaxQueuedUploads = 4;
        scenario.LeavePercent = 25;

        var result = new Simulation(scenario).Run();

        result.Violations.Should().BeEmpty();
        result.Completed.Should().Be(9);
    }

    [Fact]
    public void Run_TimeLimitTooShort_ReportsUnfinishedNodes()
    {
        var scenario = Small();
        scenario.TimeLimitSeconds = 0.01;

        var result = new Simulation(scenario).Run();

        result.Violations.Should().ContainSingle(v => v.Contains("never completed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1024 * 1024, 128)]
    [InlineData(256 * 1024, 512)]
    [InlineData(16 * 1024 * 1024, 8)]
    public void BuildLayers_PieceSizeGiven_SchedulerCutsTheSamePieceCount(long pieceBytes, int pieces)
    {
        var layers = Simulation.BuildLayers(new Scenario { ImageBytes = 512 * Scenario.MiB, Layers = 4, PieceBytes = pieceBytes });

        layers.Should().HaveCount(4);
        layers.Should().OnlyContain(l => l.PieceCount == pieces && PieceLayout.For(l.SchedulerLength).PieceCount == pieces);
    }

    [Fact]
    public void BuildLayers_ProductLayout_FourMiBPieces()
    {
        var layers = Simulation.BuildLayers(new Scenario { ImageBytes = 512 * Scenario.MiB, Layers = 4 });

        layers.Should().OnlyContain(l => l.PieceSize == 4 * Scenario.MiB && l.PieceCount == 32 && l.SchedulerLength == l.Length);
    }

    [Fact]
    public void Percentile_NearestRank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToList();

        SimulationResult.Percentile(sorted, 0.50).Should().Be(50);
        SimulationResult.Percentile(sorted, 0.99).Should().Be(99);
        SimulationResult.Percentile([7], 0.99).Should().Be(7);
    }
}
