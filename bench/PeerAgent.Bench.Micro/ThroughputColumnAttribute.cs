using BenchmarkDotNet.Attributes;

namespace PeerAgent.Bench.Micro;

/// <summary>Adds the <see cref="ThroughputColumn"/> (MB/s) to a benchmark class.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ThroughputColumnAttribute(long bytesPerOperation) : ColumnConfigBaseAttribute(new ThroughputColumn(bytesPerOperation))
{
    /// <summary>Bytes one operation moves, for benchmarks without a <c>Bytes</c> parameter.</summary>
    public long BytesPerOperation { get; } = bytesPerOperation;
}
