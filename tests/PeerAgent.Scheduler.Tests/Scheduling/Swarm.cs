using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Swarm;
using PeerAgent.Scheduling.Swarm;

namespace PeerAgent.Scheduler.Tests.Scheduling;

/// <summary>A scheduler on a fake clock plus terse helpers to lay out hosts and peers.</summary>
internal sealed class Swarm
{
    /// <summary>64 MiB: 16 pieces of 4 MiB.</summary>
    public const long Length = 64L * 1024 * 1024;

    public static readonly Digest Blob = Digest.Compute("scheduler test blob"u8);

    public Swarm(Action<SchedulerOptions>? configure = null)
    {
        var options = new SchedulerOptions();
        configure?.Invoke(options);
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Scheduler = new SwarmScheduler(options, Time, NullLogger<SwarmScheduler>.Instance, seed: 42);
    }

    public FakeTimeProvider Time { get; }
    public SwarmScheduler Scheduler { get; }
    public static int PieceCount => PieceLayout.For(Length).PieceCount;

    public Swarm Host(string id, string node = "", string zone = "z1", string region = "r1", int slots = 4)
    {
        Scheduler.RegisterHost(new PeerHost(id, node.Length == 0 ? "node-" + id : node, zone, region, id + ":65002", slots));
        return this;
    }

    /// <summary>Announces <paramref name="id"/> in the blob's task holding exactly <paramref name="pieces"/>.</summary>
    public Swarm Peer(string id, params int[] pieces)
    {
        Scheduler.Announce(Blob, Length, id, Bitmap(pieces)).Should().Be(AnnounceResult.Registered);
        return this;
    }

    /// <summary>Announces <paramref name="id"/> with the whole blob.</summary>
    public Swarm Seed(string id)
    {
        Scheduler.Announce(Blob, Length, id, complete: true).Should().Be(AnnounceResult.Registered);
        return this;
    }

    public ScheduleDecision Schedule(string id) => Scheduler.Schedule(Blob, id);

    public IReadOnlyList<string> Select(string id, int max = 8)
    {
        var candidates = Scheduler.SelectParents(Blob, id, max);
        var ids = new string[candidates.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = candidates[i].HostId;
        }

        return ids;
    }

    public PeerSnapshot Inspect(string id) => Scheduler.Inspect(Blob, id) ?? throw new InvalidOperationException($"no peer {id}");

    public void Advance(TimeSpan by, params string[] heartbeating)
    {
        Time.Advance(by);
        foreach (var id in heartbeating)
        {
            Scheduler.Heartbeat(id, 0).Should().BeTrue($"{id} should still be registered");
        }
    }

    public static byte[] Bitmap(params int[] pieces)
    {
        var bitmap = new PieceBitmap(PieceCount);
        foreach (var piece in pieces)
        {
            bitmap.Set(piece);
        }

        return bitmap.ToBytes();
    }

    public static int[] Range(int start, int end)
    {
        var pieces = new int[end - start];
        for (var i = 0; i < pieces.Length; i++)
        {
            pieces[i] = start + i;
        }

        return pieces;
    }
}
