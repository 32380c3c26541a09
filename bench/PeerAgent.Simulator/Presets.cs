namespace PeerAgent.Simulator;

/// <summary>The named scenario sets: the seeds' chart, bench/cluster's default (calibration) and the CI smoke run.</summary>
internal static class Presets
{
    /// <summary>The seeds' scenarios: 512 MiB in 4 layers, 100 to 10,000 nodes, origin 10 Gbit/s, node links 10 and 1 Gbit/s, 3 zones.</summary>
    public static List<Scenario> Seeds(Scenario template, int maxNodes)
    {
        var runs = new List<Scenario>();
        // Smallest first: the runs share one process, whose peak working set (a column) only grows.
        foreach (var nodes in new[] { 100, 800, 2_600, 10_000 })
        {
            foreach (var bits in new[] { 10e9, 1e9 })
            {
                if (nodes > maxNodes)
                {
                    continue;
                }

                var s = template.Clone();
                s.Name = "seeds";
                s.Nodes = nodes;
                s.ImageBytes = 512 * Scenario.MiB;
                s.Layers = 4;
                s.NodeUpBits = bits;
                s.NodeDownBits = bits;
                s.OriginBits = 10e9;
                s.Zones = 3;
                runs.Add(s);
            }
        }

        return runs;
    }

    /// <summary>
    /// bench/cluster's default run: 16 hosts, 3 zones, 50 Mbit/s per host both ways, origin 4 × that, 64 MiB in 4
    /// layers, no added latency (veth pairs through a bridge: about 0.1 ms), every blob fetched at once.
    /// </summary>
    public static Scenario ClusterDefault(Scenario template)
    {
        var s = template.Clone();
        s.Name = "cluster-default";
        s.Nodes = 16;
        s.Zones = 3;
        s.NodeUpBits = 50e6;
        s.NodeDownBits = 50e6;
        s.OriginBits = 200e6;
        s.ImageBytes = 64 * Scenario.MiB;
        s.Layers = 4;
        s.RttSeconds = 0.0001;
        s.CrossZoneRttSeconds = 0;
        return s;
    }

    /// <summary>The CI run: 100 nodes, a small image in small pieces, 1 Gbit/s, and 10 % of nodes leaving, so every path runs.</summary>
    public static Scenario Smoke(Scenario template)
    {
        var s = template.Clone();
        s.Name = "smoke";
        s.Nodes = 100;
        s.ImageBytes = 32 * Scenario.MiB;
        s.Layers = 2;
        s.PieceBytes = Scenario.MiB;
        s.NodeUpBits = 1e9;
        s.NodeDownBits = 1e9;
        s.OriginBits = 10e9;
        s.LeavePercent = 10;
        return s;
    }
}
