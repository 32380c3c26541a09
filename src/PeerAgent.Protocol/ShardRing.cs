using System.Text;

namespace PeerAgent.Protocol;

/// <summary>
/// Which scheduler replica owns a blob: rendezvous (highest random weight) hashing of the task digest over the
/// replicas' URLs. Every agent ranks the same replicas the same way without talking to any other, and when a replica
/// goes away only its own blobs move, each to the replica ranked next for it, so the load it carried spreads over
/// all the survivors instead of falling on one neighbour as it would on a ring.
/// </summary>
public static class ShardRing
{
    /// <summary>
    /// <paramref name="replicas"/> ordered from the owner of <paramref name="task"/> down: the first one that answers
    /// is the one to use. Stable for a given task and set of replicas, whatever order the set comes in.
    /// </summary>
    public static string[] Rank(string task, IReadOnlyCollection<string> replicas)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(replicas);
        var taskHash = Hash(task, 0xcbf29ce484222325UL);
        var ranked = replicas.Distinct(StringComparer.Ordinal)
            .Select(replica => (Replica: replica, Score: Mix(Hash(replica, taskHash))))
            .ToArray();

        // Ties (a 2^-64 event) fall back to the URL, so every agent still agrees.
        Array.Sort(ranked, static (a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(a.Replica, b.Replica));
        return [.. ranked.Select(r => r.Replica)];
    }

    /// <summary>The owner of <paramref name="task"/> among <paramref name="replicas"/>; null when there are none.</summary>
    public static string? Owner(string task, IReadOnlyCollection<string> replicas) =>
        replicas.Count == 0 ? null : Rank(task, replicas)[0];

    // FNV-1a over the UTF-8 bytes, seeded with the task's hash, then a 64-bit finaliser: string.GetHashCode is
    // randomised per process, and the agents and the tests must all compute the same ranking.
    private static ulong Hash(string value, ulong seed)
    {
        var hash = seed;
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            hash = (hash ^ b) * 0x100000001b3UL;
        }

        return hash;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
