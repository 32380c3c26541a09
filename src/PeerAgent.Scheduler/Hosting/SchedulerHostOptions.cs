using Microsoft.Extensions.Configuration;
using PeerAgent.Core.Hosting;

namespace PeerAgent.Scheduler.Hosting;

/// <summary>Where the scheduler process listens: gRPC (<c>Scheduler:ListenUrl</c>, mutual TLS) and operations (<c>Metrics:ListenUrl</c>).</summary>
internal sealed class SchedulerHostOptions
{
    public const string ListenUrlKey = "Scheduler:ListenUrl";
    public const string MetricsListenUrlKey = "Metrics:ListenUrl";

    /// <summary><c>https://</c> unless Tls:AllowInsecure=true (then <c>http://</c>, h2c).</summary>
    public string ListenUrl { get; init; } = "https://0.0.0.0:65004";

    public string MetricsListenUrl { get; init; } = "http://0.0.0.0:65005";

    public static SchedulerHostOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new SchedulerHostOptions();
        return new SchedulerHostOptions
        {
            ListenUrl = configuration[ListenUrlKey] ?? defaults.ListenUrl,
            MetricsListenUrl = configuration[MetricsListenUrlKey] ?? defaults.MetricsListenUrl,
        };
    }

    /// <summary>Every problem, each naming its key; the parsed endpoints when there is none.</summary>
    public IReadOnlyList<string> Validate(out ListenEndpoint grpc, out ListenEndpoint metrics)
    {
        var errors = new List<string>();
        if (!ListenEndpoint.TryParse(ListenUrl, allowHttps: true, out var error, out grpc))
        {
            errors.Add($"{ListenUrlKey} {error}.");
        }

        if (!ListenEndpoint.TryParse(MetricsListenUrl, out error, out metrics))
        {
            errors.Add($"{MetricsListenUrlKey} {error}.");
        }

        if (errors.Count == 0 && grpc.Port != 0 && grpc.Port == metrics.Port
            && (grpc.Address is null || metrics.Address is null || grpc.Address.Equals(metrics.Address)))
        {
            errors.Add($"{MetricsListenUrlKey} '{MetricsListenUrl}' uses the same port as {ListenUrlKey} '{ListenUrl}'; gRPC and metrics need separate ports.");
        }

        return errors;
    }
}
