using System.Globalization;

namespace PeerAgent.Simulator;

/// <summary>
/// Simulates N nodes pulling one image at once through PeerAgent, driving the real scheduler library on a simulated
/// clock. Prints a table and one JSON line. Exit status: 0, or 1 when a run broke the simulation's invariants (a node
/// never completed, bytes do not add up, the scheduler threw), or 2 for bad arguments. Never fails on a time.
/// </summary>
internal static class Program
{
    private const string Usage = """
        PeerAgent.Simulator: a discrete-event simulation of N nodes pulling one image through PeerAgent (bench/README.md).

          dotnet run -c Release --project bench/PeerAgent.Simulator -- [preset] [options]

        Presets (options after a preset change every run of it):
          --seeds                 the seeds' scenarios: 512 MiB in 4 layers; 100, 800, 2600, 10000 nodes; links 10 and 1 Gbit/s; origin 10 Gbit/s; 3 zones
          --max-nodes N           with --seeds: skip runs above N nodes
          --cluster-default       bench/cluster's default: 16 nodes, 50 Mbit/s, origin 200 Mbit/s, 64 MiB in 4 layers, 3 zones
          --smoke                 the CI run: 100 nodes, 32 MiB in 2 layers, 1 MiB pieces, 1 Gbit/s, 10 % leave

        Options [default]:
          --nodes N [100]  --image-mib M [512]  --layers K [4]  --piece-kib P [product layout: 4 MiB up to 2 GiB blobs]
          --node-mbit B (both ways) [10000]  --node-up-mbit  --node-down-mbit  --origin-mbit [10000]
          --zones Z [3]  --regions R [1]  --rtt-ms [0.5] (in a zone, to origin and scheduler)  --cross-zone-rtt-ms [2] (extra)
          --max-min               exact max-min fair sharing of links instead of the local per-flow share (small runs)
          --leave-percent X [0]  --start-jitter-ms [10]  --seed S [1]  --time-limit S [3600] (simulated seconds)
          --times-out FILE        one run only: write each completed node's completion time (s), one per line (for the CDF plot)
          agent:     --pieces-in-flight [4]  --upload-slots [16]  --upload-queue [0]  --piece-timeout-s [10]  --stall-timeout-s [10]
          what-if:   --refresh-parents-s S [0: off] (the agent also asks for parents every S seconds; it does not today)
          scheduler: --fan-out [8]  --back-to-source-quota [1]  --stripe  --zone-leaders [1]  --parents [4]  --sample [64]  --wait-retry-ms [500]
          what-if:   --min-reschedule-ms [500] (the agent's fixed least interval between reschedules for lack of a useful parent)
        """;

    public static int Main(string[] args)
    {
        string? preset = null;
        string? timesOut = null;
        var maxNodes = int.MaxValue;
        var template = new Scenario();
        try
        {
            var overrides = new List<Action<Scenario>>();
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                switch (arg)
                {
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        return 0;
                    case "--seeds" or "--cluster-default" or "--smoke":
                        preset = arg[2..];
                        break;
                    case "--stripe":
                        overrides.Add(s => s.StripeBackToSource = true);
                        break;
                    case "--max-min":
                        overrides.Add(s => s.MaxMinSharing = true);
                        break;
                    case "--times-out":
                        timesOut = i + 1 < args.Length ? args[++i] : throw new ArgumentException("--times-out needs a file");
                        break;
                    case "--max-nodes":
                        maxNodes = (int)Number(args, ref i);
                        break;
                    default:
                        overrides.Add(Option(arg, Number(args, ref i)));
                        break;
                }
            }

            var scenarios = preset switch
            {
                "seeds" => Presets.Seeds(template, maxNodes),
                "cluster-default" => [Presets.ClusterDefault(template)],
                "smoke" => [Presets.Smoke(template)],
                _ => [template],
            };
            foreach (var scenario in scenarios)
            {
                foreach (var apply in overrides)
                {
                    apply(scenario);
                }

                var errors = scenario.Validate();
                if (errors.Count > 0)
                {
                    throw new ArgumentException(string.Join(" ", errors));
                }
            }

            if (timesOut is not null && scenarios.Count != 1)
            {
                throw new ArgumentException($"--times-out needs exactly one run; this one has {scenarios.Count}");
            }

            return Run(preset, scenarios, timesOut);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine("PeerAgent.Simulator: " + ex.Message);
            Console.Error.WriteLine("(see --help)");
            return 2;
        }
    }

    private static int Run(string? preset, List<Scenario> scenarios, string? timesOut)
    {
        var results = new List<SimulationResult>();
        var broken = false;
        foreach (var scenario in scenarios)
        {
            Console.Error.WriteLine("simulating " + scenario.Describe());
            var result = new Simulation(scenario).Run();
            results.Add(result);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  done in {result.Stats.RuntimeSeconds:0.0} s ({result.Stats.Events:N0} events, {result.Stats.SimulatedSeconds:0.###} simulated s, peak {result.Stats.PeakWorkingSetBytes / (double)Scenario.MiB:0} MB)"));
            foreach (var violation in result.Violations)
            {
                broken = true;
                Console.Error.WriteLine("  INVARIANT BROKEN: " + violation);
            }
        }

        if (timesOut is not null)
        {
            File.WriteAllLines(timesOut, results[0].CompletionTimes.Select(t => t.ToString("0.######", CultureInfo.InvariantCulture)));
        }

        Console.WriteLine(ResultReport.Table(results));
        Console.WriteLine(ResultReport.Json(preset, results));
        return broken ? 1 : 0;
    }

    private static double Number(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"{args[i]} needs a value");
        }

        return double.Parse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static Action<Scenario> Option(string name, double value) => name switch
    {
        "--nodes" => s => s.Nodes = (int)value,
        "--image-mib" => s => s.ImageBytes = (long)(value * Scenario.MiB),
        "--layers" => s => s.Layers = (int)value,
        "--piece-kib" => s => s.PieceBytes = (long)(value * 1024),
        "--node-mbit" => s => (s.NodeUpBits, s.NodeDownBits) = (value * 1e6, value * 1e6),
        "--node-up-mbit" => s => s.NodeUpBits = value * 1e6,
        "--node-down-mbit" => s => s.NodeDownBits = value * 1e6,
        "--origin-mbit" => s => s.OriginBits = value * 1e6,
        "--zones" => s => s.Zones = (int)value,
        "--regions" => s => s.Regions = (int)value,
        "--rtt-ms" => s => s.RttSeconds = value / 1000,
        "--cross-zone-rtt-ms" => s => s.CrossZoneRttSeconds = value / 1000,
        "--leave-percent" => s => s.LeavePercent = value,
        "--start-jitter-ms" => s => s.StartJitterSeconds = value / 1000,
        "--seed" => s => s.Seed = (int)value,
        "--time-limit" => s => s.TimeLimitSeconds = value,
        "--pieces-in-flight" => s => s.MaxPiecesInFlight = (int)value,
        "--upload-slots" => s => s.MaxConcurrentUploads = (int)value,
        "--upload-queue" => s => s.MaxQueuedUploads = (int)value,
        "--piece-timeout-s" => s => s.PieceTimeoutSeconds = value,
        "--stall-timeout-s" => s => s.StallTimeoutSeconds = value,
        "--refresh-parents-s" => s => s.RefreshParentsSeconds = value,
        "--fan-out" => s => s.FanOutLimit = (int)value,
        "--back-to-source-quota" => s => s.BackToSourceQuota = (int)value,
        "--zone-leaders" => s => s.ZoneLeaders = (int)value,
        "--parents" => s => s.CandidateParentCount = (int)value,
        "--sample" => s => s.CandidateSampleSize = (int)value,
        "--wait-retry-ms" => s => s.WaitRetrySeconds = value / 1000,
        "--min-reschedule-ms" => s => s.MinRescheduleSeconds = value / 1000,
        _ => throw new ArgumentException($"unknown option '{name}'"),
    };
}
