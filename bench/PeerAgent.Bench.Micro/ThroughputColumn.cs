using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace PeerAgent.Bench.Micro;

/// <summary>MB/s (10^6 bytes per second): the bytes one operation moves over its mean time, for comparison with bench/README.md's figures.</summary>
/// <remarks>The bytes are the benchmark's <c>Bytes</c> parameter when it has one, else the class's fixed amount.</remarks>
internal sealed class ThroughputColumn(long bytesPerOperation) : IColumn
{
    private const string BytesParameter = "Bytes";

    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Throughput: bytes per operation / Mean, in 10^6 bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null || statistics.Mean <= 0)
        {
            return "NA";
        }

        var bytes = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == BytesParameter)?.Value is int parameter ? parameter : bytesPerOperation;
        return (bytes / (statistics.Mean / 1e9) / 1e6).ToString("N0", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
