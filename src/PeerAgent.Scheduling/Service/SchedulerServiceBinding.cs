using Grpc.Core;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;
using WireScheduler = PeerAgent.Protocol.V1.Scheduler;

namespace PeerAgent.Scheduling.Service;

/// <summary>
/// Binds <see cref="SchedulerService"/> in place of the generated <c>Scheduler.BindService</c> (named by the attribute
/// on the service), with request marshallers of our own: a message that is not valid protobuf is answered
/// INVALID_ARGUMENT instead of UNKNOWN with an error-level log (<see cref="StrictMarshallers"/>).
/// </summary>
internal static class SchedulerServiceBinding
{
    internal static readonly Method<HeartbeatRequest, HeartbeatResponse> Heartbeat =
        StrictMarshallers.Method<HeartbeatRequest, HeartbeatResponse>(
            MethodType.Unary, WireScheduler.Descriptor.FullName, nameof(SchedulerService.Heartbeat), HeartbeatRequest.Parser);

    internal static readonly Method<AnnounceRequest, AnnounceResponse> Announce =
        StrictMarshallers.Method<AnnounceRequest, AnnounceResponse>(
            MethodType.DuplexStreaming, WireScheduler.Descriptor.FullName, nameof(SchedulerService.Announce), AnnounceRequest.Parser);

    /// <summary>Called by grpc-dotnet through <see cref="BindServiceMethodAttribute"/>; it passes no instance.</summary>
    /// <remarks>The second parameter is the generated base class, as in the generated binder (grpc-dotnet takes its type as the one the service overrides).</remarks>
    public static void BindService(ServiceBinderBase binder, WireScheduler.SchedulerBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(Heartbeat, service is null ? null : service.Heartbeat);
        binder.AddMethod(Announce, service is null ? null : service.Announce);
    }
}
