using System.Globalization;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Swarm;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Bench.Scheduler;

/// <summary>
/// The swarm both scheduler benchmarks measure (this console program and bench/PeerAgent.Bench.Micro): one task of
/// N peers, each on its own node, over 3 regions × 3 zones, with random piece bitmaps.
/// </summary>
internal static class SwarmSetup
{
    public const int Regions = 3;
    public const int ZonesPerRegion = 3;

    /// <summary>The task every peer announces.</summary>
    public static readonly Digest TaskDigest = Digest.Compute("bench blob"u8);

    /// <summary>Long enough that nothing expires or stalls while a benchmark runs on the real clock.</summary>
    public static SchedulerOptions Options() => new()
    {
        HostExpiry = TimeSpan.FromHours(1),
        BackToSourceStallTimeout = TimeSpan.FromHours(1),
    };

    /// <summary>Each peer holds each piece with its own random probability: a swarm caught mid-download, plus a few seeds and empties.</summary>
    public static byte[][] RandomBitmaps(Random random, int peers, int pieceCount)
    {
        var bitmaps = new byte[peers][];
        for (var p = 0; p < peers; p++)
        {
            var roll = random.NextDouble();
            var density = roll < 0.01 ? 1.0 : roll < 0.10 ? 0.0 : random.NextDouble();
            var bitmap = new PieceBitmap(pieceCount);
            for (var i = 0; i < pieceCount; i++)
            {
                if (random.NextDouble() < density)
                {
                    bitmap.Set(i);
                }
            }

            bitmaps[p] = bitmap.ToBytes();
        }

        return bitmaps;
    }

    /// <summary>Registers one host per bitmap and announces <see cref="TaskDigest"/> from each; returns the host ids in order.</summary>
    public static string[] Populate(SwarmScheduler scheduler, long blobBytes, byte[][] bitmaps)
    {
        var hostIds = new string[bitmaps.Length];
        for (var i = 0; i < bitmaps.Length; i++)
        {
            var region = i % Regions;
            var zone = (i / Regions) % ZonesPerRegion;
            var id = "host-" + i.ToString(CultureInfo.InvariantCulture);
            hostIds[i] = id;
            scheduler.RegisterHost(new PeerHost(
                id,
                "node-" + i.ToString(CultureInfo.InvariantCulture),
                "zone-" + region.ToString(CultureInfo.InvariantCulture) + zone.ToString(CultureInfo.InvariantCulture),
                "region-" + region.ToString(CultureInfo.InvariantCulture),
                "10." + (i >> 16).ToString(CultureInfo.InvariantCulture) + "." + ((i >> 8) & 255).ToString(CultureInfo.InvariantCulture) + "." + (i & 255).ToString(CultureInfo.InvariantCulture) + ":65002",
                UploadCapacity: 16));
            scheduler.Announce(TaskDigest, blobBytes, id, bitmaps[i]);
        }

        return hostIds;
    }

    /// <summary>One decision per peer, with commit: a realistic parent graph (and fan-out) before anything is timed. Returns the parents assigned.</summary>
    public static int ScheduleEachOnce(SwarmScheduler scheduler, string[] hostIds)
    {
        var assigned = 0;
        foreach (var id in hostIds)
        {
            assigned += scheduler.Schedule(TaskDigest, id).Parents.Count;
        }

        return assigned;
    }

    /// <summary>Random children to decide for, so the timed loops do not walk the peers in registration order.</summary>
    public static int[] RandomPicks(Random random, int peers, int count)
    {
        var picks = new int[count];
        for (var i = 0; i < count; i++)
        {
            picks[i] = random.Next(peers);
        }

        return picks;
    }
}
