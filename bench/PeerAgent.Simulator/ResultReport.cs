using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PeerAgent.Simulator;

/// <summary>Prints runs as one table and one JSON line.</summary>
internal static class ResultReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Table(IReadOnlyList<SimulationResult> results)
    {
        string[] header =
        [
            "scenario", "nodes", "left", "node link", "image MiB", "piece MiB", "ideal s", "p50 s", "p99 s", "max s", "p50/ideal", "p99/ideal", "max/ideal",
            "direct s", "speed-up p50", "speed-up p99", "avg below direct", "origin/image", "cross-zone/image", "sched CPU s", "sched B/peer", "runtime s", "peak MB",
        ];
        var rows = new List<string[]> { header };
        foreach (var r in results)
        {
            rows.Add(
            [
                r.Scenario.Name,
                r.Scenario.Nodes.ToString(Invariant),
                r.Left.ToString(Invariant),
                Scenario.Rate(r.Scenario.NodeDownBits),
                F(r.Image / Scenario.MiB, "0.#"),
                F(r.PieceBytes / (double)Scenario.MiB, "0.###"),
                F(r.IdealSeconds, "0.###"),
                F(r.P50, "0.###"),
                F(r.P99, "0.###"),
                F(r.Max, "0.###"),
                F(r.P50 / r.IdealSeconds, "0.00"),
                F(r.P99 / r.IdealSeconds, "0.00"),
                F(r.Max / r.IdealSeconds, "0.00"),
                F(r.DirectSeconds, "0.##"),
                F(r.DirectSeconds / r.P50, "0.0"),
                F(r.DirectSeconds / r.P99, "0.0"),
                F(r.AverageBelowDirectPercent, "0.0") + " %",
                F(r.OriginCopies, "0.000"),
                F(r.CrossZoneCopies, "0.00"),
                F(r.SchedulerSeconds, "0.000"),
                r.SchedulerRetainedPerPeer.ToString(Invariant),
                F(r.Stats.RuntimeSeconds, "0.0"),
                F(r.Stats.PeakWorkingSetBytes / (double)Scenario.MiB, "0"),
            ]);
        }

        var widths = new int[header.Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        for (var r = 0; r < rows.Count; r++)
        {
            text.Append('|');
            for (var i = 0; i < rows[r].Length; i++)
            {
                text.Append(' ').Append(i < 4 ? rows[r][i].PadRight(widths[i]) : rows[r][i].PadLeft(widths[i])).Append(" |");
            }

            text.AppendLine();
            if (r == 0)
            {
                text.Append('|');
                for (var i = 0; i < widths.Length; i++)
                {
                    text.Append(' ').Append(new string('-', widths[i])).Append(" |");
                }

                text.AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>One JSON line: the run itself, or <c>{"preset":..., "runs":[...]}</c> for several.</summary>
    public static string Json(string? preset, IReadOnlyList<SimulationResult> results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (preset is null && results.Count == 1)
            {
                Write(json, results[0]);
            }
            else
            {
                json.WriteStartObject();
                json.WriteString("preset", preset ?? "custom");
                json.WriteStartArray("runs");
                foreach (var result in results)
                {
                    Write(json, result);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter json, SimulationResult r)
    {
        var s = r.Scenario;
        json.WriteStartObject();
        json.WriteString("scenario", s.Name);
        json.WriteNumber("nodes", s.Nodes);
        json.WriteNumber("completed", r.Completed);
        json.WriteNumber("left", r.Left);
        json.WriteNumber("image_bytes", s.ImageBytes);
        json.WriteNumber("layers", s.Layers);
        json.WriteNumber("piece_bytes", r.PieceBytes);
        json.WriteNumber("pieces_per_layer", r.PiecesPerLayer);
        json.WriteNumber("node_down_bits_per_s", s.NodeDownBits);
        json.WriteNumber("node_up_bits_per_s", s.NodeUpBits);
        json.WriteNumber("origin_bits_per_s", s.OriginBits);
        json.WriteNumber("zones", s.Zones);
        json.WriteNumber("rtt_ms", Round(s.RttSeconds * 1000, 3));
        json.WriteNumber("cross_zone_rtt_ms", Round(s.CrossZoneRttSeconds * 1000, 3));
        json.WriteNumber("leave_percent", s.LeavePercent);
        json.WriteNumber("seed", s.Seed);
        json.WriteNumber("ideal_s", Round(r.IdealSeconds, 4));
        json.WriteNumber("p50_s", Round(r.P50, 4));
        json.WriteNumber("p99_s", Round(r.P99, 4));
        json.WriteNumber("max_s", Round(r.Max, 4));
        json.WriteNumber("mean_s", Round(r.Mean, 4));
        json.WriteNumber("p50_over_ideal", Round(r.P50 / r.IdealSeconds, 3));
        json.WriteNumber("p99_over_ideal", Round(r.P99 / r.IdealSeconds, 3));
        json.WriteNumber("max_over_ideal", Round(r.Max / r.IdealSeconds, 3));
        json.WriteNumber("direct_p50_s", Round(r.DirectSeconds, 4));
        json.WriteNumber("direct_p99_s", Round(r.DirectSeconds, 4));
        json.WriteNumber("speedup_p50", Round(r.DirectSeconds / r.P50, 2));
        json.WriteNumber("speedup_p99", Round(r.DirectSeconds / r.P99, 2));
        json.WriteNumber("avg_below_direct_percent", Round(r.AverageBelowDirectPercent, 2));
        json.WriteNumber("origin_bytes", r.OriginBytes);
        json.WriteNumber("origin_over_image", Round(r.OriginCopies, 4));
        json.WriteNumber("origin_skipped_bytes", r.OriginSkippedBytes);
        json.WriteNumber("peer_bytes", r.PeerBytes);
        json.WriteNumber("cross_zone_bytes", r.CrossZoneBytes);
        json.WriteNumber("cross_zone_over_image", Round(r.CrossZoneCopies, 3));
        json.WriteNumber("aborted_bytes", r.AbortedBytes);
        json.WriteNumber("max_host_upload_over_image", Round(r.BusiestUploaderBytes / r.Image, 3));
        json.WriteNumber("piece_timeouts", r.Timeouts);
        json.WriteNumber("busy_refusals", r.Refusals);
        json.WriteNumber("parent_drops", r.ParentDrops);
        json.WriteNumber("stall_fallbacks", r.StallFallbacks);
        json.WriteNumber("back_to_source_revoked", r.Revocations);
        json.WriteNumber("scheduler_cpu_s", Round(r.SchedulerSeconds, 4));
        json.WriteNumber("scheduler_calls", r.SchedulerCalls);
        json.WriteNumber("decisions", r.Decisions);
        json.WriteNumber("decisions_parents", r.ParentDecisions);
        json.WriteNumber("decisions_back_to_source", r.BackToSourceDecisions);
        json.WriteNumber("decisions_wait", r.WaitDecisions);
        json.WriteNumber("scheduler_retained_bytes", r.Stats.SchedulerRetainedBytes);
        json.WriteNumber("scheduler_retained_bytes_per_peer", r.SchedulerRetainedPerPeer);
        json.WriteNumber("simulated_s", Round(r.Stats.SimulatedSeconds, 4));
        json.WriteNumber("events", r.Stats.Events);
        json.WriteNumber("runtime_s", Round(r.Stats.RuntimeSeconds, 2));
        json.WriteNumber("process_cpu_s", Round(r.Stats.ProcessCpuSeconds, 2));
        json.WriteNumber("peak_working_set_bytes", r.Stats.PeakWorkingSetBytes);
        json.WriteNumber("managed_heap_bytes", r.Stats.ManagedHeapBytes);
        json.WriteNumber("violations", r.Violations.Count);
        json.WriteEndObject();
    }

    private static double Round(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : -1;

    private static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, Invariant) : "-";
}
