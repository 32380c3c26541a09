using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// The parents of one download: which are live, what each holds, which piece to ask of whom next. One lock
/// guards every parent's state; it is never held across I/O.
/// </summary>
/// <remarks><paramref name="selfZone"/> and <paramref name="selfRegion"/> are this agent's, to tell each parent's locality.</remarks>
internal sealed class ParentSet(PartialBlob partial, PieceClaims claims, IParentClients clients, string selfHostId, string selfZone = "", string selfRegion = "")
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ParentLink> _parents = new(StringComparer.Ordinal);
    private readonly List<ParentLink> _retired = [];
    private readonly Digest?[] _expected = new Digest?[partial.Layout.PieceCount];

    // Reused by every pick under the lock: no allocation per piece on the transfer path.
    private readonly PieceBitmap _wanted = new(partial.Layout.PieceCount);

    public bool IsEmpty
    {
        get
        {
            lock (_lock)
            {
                return _parents.Count == 0;
            }
        }
    }

    /// <summary>Adds the parents the scheduler named; returns those that are new (their SyncPieces must be followed).</summary>
    public List<ParentLink> Add(IEnumerable<ParentPeer> candidates, CancellationToken cancellationToken)
    {
        var added = new List<ParentLink>();
        lock (_lock)
        {
            foreach (var candidate in candidates)
            {
                if (candidate.HostId == selfHostId || string.IsNullOrEmpty(candidate.PeerAddress))
                {
                    continue;
                }

                if (_parents.TryGetValue(candidate.HostId, out var known) && (!known.Dead || known.Corrupt))
                {
                    continue; // live already, or it served wrong bytes: never again for this blob
                }

                if (known is not null)
                {
                    _retired.Add(known); // dead, offered again: stopped with the others at the end
                }

                var parent = new ParentLink(candidate.HostId, candidate.PeerAddress, clients.Get(candidate.PeerAddress), cancellationToken)
                {
                    Locality = PeerLocality.Of(selfZone, selfRegion, candidate.Zone, candidate.Region),
                };
                _parents[candidate.HostId] = parent;
                added.Add(parent);
            }
        }

        return added;
    }

    /// <summary>Piece digests the scheduler relays (from back-to-source peers); they win over what a parent announces.</summary>
    public void SetExpected(IReadOnlyList<Google.Protobuf.ByteString> digests)
    {
        if (digests.Count != _expected.Length)
        {
            return;
        }

        lock (_lock)
        {
            for (var i = 0; i < digests.Count; i++)
            {
                if (_expected[i] is null && WireMapping.TryFromWire(digests[i], out var sha256))
                {
                    _expected[i] = sha256;
                }
            }
        }
    }

    /// <summary>Records what a parent announced; false when the announcement does not describe this blob.</summary>
    public bool Announced(ParentLink parent, PieceAnnouncement message)
    {
        var layout = partial.Layout;
        if (message.ContentLength != layout.Length || message.PieceCount != layout.PieceCount)
        {
            return false;
        }

        lock (_lock)
        {
            parent.Have ??= new PieceBitmap(layout.PieceCount);
            foreach (var piece in message.Pieces)
            {
                if ((uint)piece.Index < (uint)layout.PieceCount && WireMapping.TryFromWire(piece.Sha256, out var sha256))
                {
                    parent.Have.Set(piece.Index);
                    parent.Digests[piece.Index] = sha256;
                }
            }
        }

        return true;
    }

    /// <summary>Claims the rarest wanted piece and a parent for it; the caller must <see cref="Return"/> both.</summary>
    public bool TryPick(long now, out int piece, out ParentLink parent, out Digest? expected)
    {
        var layout = partial.Layout;
        lock (_lock)
        {
            piece = -1;
            parent = null!;
            expected = null;
            if (_parents.Count == 0)
            {
                return false;
            }

            for (var i = 0; i < layout.PieceCount; i++)
            {
                if (!partial.HasPiece(i) && !claims.IsClaimed(i))
                {
                    _wanted.Set(i);
                }
                else
                {
                    _wanted.Clear(i);
                }
            }

            var (picked, chosen) = PiecePicker.Pick(_wanted, _parents.Values, now);
            if (chosen is null || !claims.TryClaim(picked))
            {
                return false;
            }

            chosen.InFlight++;
            (piece, parent) = (picked, chosen);
            expected = _expected[picked] ?? (chosen.Digests.TryGetValue(picked, out var announced) ? announced : null);
            return true;
        }
    }

    /// <summary>The request for <paramref name="piece"/> to <paramref name="parent"/> ended, however it went.</summary>
    public void Return(ParentLink parent, int piece)
    {
        lock (_lock)
        {
            parent.InFlight--;
        }

        claims.Release(piece);
    }

    /// <summary>The parent does not hold what it announced (evicted, or a different piece).</summary>
    public void Forget(ParentLink parent, int piece)
    {
        lock (_lock)
        {
            parent.Have?.Clear(piece);
        }
    }

    public void Busy(ParentLink parent, long until)
    {
        lock (_lock)
        {
            parent.BusyUntil = until;
        }
    }

    /// <summary>Counts a failed piece; true when the parent reached <paramref name="limit"/> and should be dropped.</summary>
    public bool Fault(ParentLink parent, int limit)
    {
        lock (_lock)
        {
            return ++parent.Failures >= limit;
        }
    }

    /// <summary>Marks the parent dead (and corrupt if so); false when it already was.</summary>
    public bool Kill(ParentLink parent, bool corrupt)
    {
        lock (_lock)
        {
            parent.Corrupt |= corrupt;
            if (parent.Dead)
            {
                return false;
            }

            parent.Dead = true;
            return true;
        }
    }

    /// <summary>Whether a live parent holds a piece still missing here, or has not said yet what it holds.</summary>
    public bool AnyUseful()
    {
        var layout = partial.Layout;
        lock (_lock)
        {
            foreach (var parent in _parents.Values)
            {
                if (parent.Dead)
                {
                    continue;
                }

                if (parent.Have is null)
                {
                    return true;
                }

                for (var i = 0; i < layout.PieceCount; i++)
                {
                    if (parent.Have[i] && !partial.HasPiece(i))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Ends every parent's SyncPieces stream and waits for it before releasing its token source.</summary>
    public async Task StopAllAsync()
    {
        List<ParentLink> parents;
        lock (_lock)
        {
            parents = [.. _parents.Values, .. _retired];
        }

        var syncs = new List<Task>(parents.Count);
        foreach (var parent in parents)
        {
            await parent.Stop.CancelAsync();
            if (parent.Sync is { } sync)
            {
                syncs.Add(sync);
            }
        }

        try
        {
            await Task.WhenAll(syncs);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException or Grpc.Core.RpcException or InvalidOperationException)
        {
            // Stopping: whatever they were doing no longer matters.
        }

        foreach (var parent in parents)
        {
            parent.Stop.Dispose();
        }
    }
}
