namespace PeerAgent.Agent.Configuration;

/// <summary>The on-disk content store (section <c>Store</c>).</summary>
internal sealed class StoreOptions
{
    public const string Section = "Store";

    public string DataDir { get; set; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
        "peeragent");

    public long QuotaBytes { get; set; } = 20L * 1024 * 1024 * 1024;
}
