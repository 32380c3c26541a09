using PeerAgent.Core.Oci;

namespace PeerAgent.Agent.Downloads;

/// <summary>
/// The one place that decides which blobs are being downloaded. A slot lives from the first request's start
/// until its download's partial file is closed, so a new download of the same blob never meets a partial that is
/// still open: whoever finds a slot joins it or waits for it to close.
/// </summary>
internal sealed class DownloadRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, DownloadSlot> _slots = [];

    /// <summary>Blobs in flight now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>
    /// The slot for <paramref name="digest"/>. When <paramref name="created"/> is true the caller owns the new slot
    /// and must end it with <see cref="DownloadSlot.Start"/> (a download) or <see cref="Abandon"/>.
    /// </summary>
    public DownloadSlot Claim(Digest digest, out bool created)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(digest, out var existing))
            {
                created = false;
                return existing;
            }

            var slot = new DownloadSlot(digest);
            _slots.Add(digest, slot);
            created = true;
            return slot;
        }
    }

    /// <summary>The owner could not start a download: joiners learn it, and the slot goes at once.</summary>
    public void Abandon(DownloadSlot slot)
    {
        slot.Start(null);
        Remove(slot);
    }

    /// <summary>Forgets the slot once its download's partial is closed.</summary>
    public async Task RemoveWhenClosedAsync(DownloadSlot slot, ActiveDownload download)
    {
        await download.Closed.ConfigureAwait(false);
        Remove(slot);
    }

    private void Remove(DownloadSlot slot)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(slot.Digest, out var current) && ReferenceEquals(current, slot))
            {
                _slots.Remove(slot.Digest);
            }
        }

        slot.SetClosed();
    }
}

/// <summary>One blob's place in the <see cref="DownloadRegistry"/>: whether its download started, and when it is gone.</summary>
internal sealed class DownloadSlot(Digest digest)
{
    private readonly TaskCompletionSource<ActiveDownload?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Digest Digest { get; } = digest;

    /// <summary>The download, or null when its start failed (the upstream refused that request, say).</summary>
    public Task<ActiveDownload?> Started => _started.Task;

    /// <summary>Completes when the slot left the registry: a new download of the blob may start.</summary>
    public Task Closed => _closed.Task;

    /// <summary>The owner started <paramref name="download"/>, or could not start one (null).</summary>
    public void Start(ActiveDownload? download) => _started.TrySetResult(download);

    internal void SetClosed() => _closed.TrySetResult();
}
