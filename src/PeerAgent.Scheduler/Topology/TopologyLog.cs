using Microsoft.Extensions.Logging;

namespace PeerAgent.Scheduler.Topology;

internal static partial class TopologyLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Zones and regions come from Kubernetes Node labels; API from {Source}")]
    public static partial void UsingKubernetes(ILogger logger, string source);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "No Kubernetes API found ({LookedFor}); zones and regions come from what each agent reports (Node:Zone, Node:Region)")]
    public static partial void UsingAgentLabels(ILogger logger, string lookedFor);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Listed {Count} {Kind} objects at resourceVersion {ResourceVersion} ({Reason}); view synced")]
    public static partial void Listed(ILogger logger, int count, string kind, string resourceVersion, string reason);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "{Kind} watch from resourceVersion {ResourceVersion} expired (410 Gone); listing again")]
    public static partial void Gone(ILogger logger, string kind, string resourceVersion);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "{Kind} {Operation} failed ({Failures} in a row); retrying in {Delay}")]
    public static partial void Failed(ILogger logger, string kind, string operation, int failures, TimeSpan delay, Exception? exception);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "{Failures} {Kind} watch failures in a row; listing again")]
    public static partial void RelistAfterFailures(ILogger logger, int failures, string kind);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "Node {Node} {Change}: zone {Zone}, region {Region}")]
    public static partial void NodeChanged(ILogger logger, string node, string change, string zone, string region);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Debug, Message = "{Kind} watch ended at resourceVersion {ResourceVersion} (closed, or broken after progress); watching again from there")]
    public static partial void WatchEnded(ILogger logger, string kind, string resourceVersion, Exception? exception);

    [LoggerMessage(EventId = 3209, Level = LogLevel.Information, Message = "Scheduler replicas changed: {Count} ready ({Replicas})")]
    public static partial void ReplicasChanged(ILogger logger, int count, string replicas);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Information, Message = "Scheduler replicas come from the EndpointSlices of Service {Service} in namespace {Namespace} (port grpc, {Scheme}); API from {Source}")]
    public static partial void UsingShardService(ILogger logger, string service, string @namespace, string scheme, string source);

    [LoggerMessage(EventId = 3211, Level = LogLevel.Warning, Message = "EndpointSlice {Slice} of Service {Service} has no port named grpc; its endpoints are left out of the scheduler replicas")]
    public static partial void SliceWithoutGrpcPort(ILogger logger, string slice, string service);
}
