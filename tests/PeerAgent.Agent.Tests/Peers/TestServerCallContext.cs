using Grpc.Core;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>A bare ServerCallContext for calling a service method directly, without a transport.</summary>
internal sealed class TestServerCallContext(CancellationToken cancellationToken = default) : ServerCallContext
{
    private readonly Metadata _requestHeaders = [];
    private readonly Metadata _responseTrailers = [];

    protected override string MethodCore => "/peeragent.v1.Peer/Test";
    protected override string HostCore => "localhost";
    protected override string PeerCore => "ipv4:127.0.0.1:1";
    protected override DateTime DeadlineCore => DateTime.MaxValue;
    protected override Metadata RequestHeadersCore => _requestHeaders;
    protected override CancellationToken CancellationTokenCore => cancellationToken;
    protected override Metadata ResponseTrailersCore => _responseTrailers;
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore => new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}

/// <summary>Records written messages (copying chunk bytes, as serialization would) and can hold writes until released.</summary>
internal sealed class GatedStreamWriter<T> : IServerStreamWriter<T>
    where T : class
{
    private readonly Func<T, T> _snapshot;
    private readonly Lock _lock = new();
    private readonly List<T> _written = [];
    private TaskCompletionSource _gate = NewGate(open: true);

    public GatedStreamWriter(Func<T, T> snapshot) => _snapshot = snapshot;

    public WriteOptions? WriteOptions { get; set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _written.Count;
            }
        }
    }

    public IReadOnlyList<T> Written
    {
        get
        {
            lock (_lock)
            {
                return [.. _written];
            }
        }
    }

    /// <summary>Writes after this record the message and then wait until <see cref="Open"/>.</summary>
    public void Close() => _gate = NewGate(open: false);

    public void Open() => _gate.TrySetResult();

    public Task WriteAsync(T message)
    {
        lock (_lock)
        {
            _written.Add(_snapshot(message));
        }

        return _gate.Task;
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }
}
