using BenchmarkDotNet.Running;
using XtcpEpoll.Bench.Benchmarks;

namespace XtcpEpoll.Bench;

/// <summary>
/// `xtcp-epoll-bench bdn [BenchmarkDotNet args]` runs the micro-benchmarks in Benchmarks/;
/// `marshal-cputime` measures the marshaller in thread CPU time (Benchmarks/MarshalCpuTime.cs), `emit-cputime`
/// --emit all against changed the same way (Benchmarks/EmitCpuTime.cs);
/// the other verbs (scale, dense, churn, kernel-cost, walk-interval, selftest) are the end-to-end harness in Harness/.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "bdn")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
            return 0;
        }
        if (args.Length > 0 && args[0] == "marshal-cputime") return MarshalCpuTime.Run(args[1..]);
        if (args.Length > 0 && args[0] == "emit-cputime") return EmitCpuTime.Run(args[1..]);
        return HarnessEntry.Run(args);
    }
}
