namespace PeerAgent.Core.Storage;

/// <summary>Where the store keeps blobs and how much disk it may use.</summary>
public sealed class ContentStoreOptions
{
    public required string RootPath { get; init; }
    public long QuotaBytes { get; init; } = 20L * 1024 * 1024 * 1024;
}
