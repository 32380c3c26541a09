namespace PeerAgent.Agent.Configuration;

/// <summary>The operations endpoint: <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c> (section <c>Metrics</c>).</summary>
internal sealed class MetricsOptions
{
    public const string Section = "Metrics";

    public string ListenUrl { get; set; } = "http://0.0.0.0:65003";
}
