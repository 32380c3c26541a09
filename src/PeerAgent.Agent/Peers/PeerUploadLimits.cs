using System.Threading.RateLimiting;

namespace PeerAgent.Agent.Peers;

/// <summary>The upload slot limit and the upload bandwidth limit shared by every DownloadPiece call.</summary>
internal sealed class PeerUploadLimits : IDisposable
{
    /// <summary>Bandwidth tokens are refilled this often; shorter periods make the rate smoother.</summary>
    internal static readonly TimeSpan ReplenishmentPeriod = TimeSpan.FromMilliseconds(50);

    public PeerUploadLimits(RateLimiter slots, RateLimiter? bandwidth)
    {
        Slots = slots;
        Bandwidth = bandwidth;
    }

    /// <summary>One permit per upload in progress.</summary>
    public RateLimiter Slots { get; }

    /// <summary>One token per byte sent, or null when unlimited.</summary>
    public RateLimiter? Bandwidth { get; }

    public static PeerUploadLimits Create(PeerOptions options)
    {
        var slots = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentUploads,
            QueueLimit = options.MaxQueuedUploads,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        TokenBucketRateLimiter? bandwidth = null;
        if (options.UploadBytesPerSecond > 0)
        {
            var perPeriod = (int)Math.Clamp(options.UploadBytesPerSecond * ReplenishmentPeriod.Ticks / TimeSpan.TicksPerSecond, 1, int.MaxValue);

            // The bucket must hold a whole chunk or a chunk could never be acquired.
            bandwidth = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(perPeriod, options.ChunkBytes),
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = ReplenishmentPeriod,
                AutoReplenishment = true,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        }

        return new PeerUploadLimits(slots, bandwidth);
    }

    public void Dispose()
    {
        Slots.Dispose();
        Bandwidth?.Dispose();
    }
}
