using BenchmarkDotNet.Running;

namespace PeerAgent.Bench.Micro;

/// <summary>
/// The micro-benchmarks of the hot paths: BenchmarkDotNet's own command line (<c>--filter</c>, <c>--job dry|short</c>,
/// <c>--list flat</c>, <c>--artifacts</c>, ...), every benchmark when no filter is given. Exits 1 when a benchmark
/// failed or a filter matched none.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var onlyInformation = args.Any(a => a is "--list" or "--help" or "-h" or "--version" or "--info");

        // Without a filter BenchmarkSwitcher asks on the console which benchmarks to run; a script must not wait on that.
        if (!onlyInformation && !args.Any(a => a is "--filter" or "-f"))
        {
            args = [.. args, "--filter", "*"];
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToList();
        if (onlyInformation)
        {
            return 0;
        }

        return summaries.Count == 0 || summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
