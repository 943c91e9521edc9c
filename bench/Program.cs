using BenchmarkDotNet.Running;

namespace XtcpEpoll.Bench;

/// <summary>
/// `xtcp-epoll-bench bdn [BenchmarkDotNet args]` runs the micro-benchmarks in Benchmarks/;
/// the other verbs (scale, dense, churn, kernel-cost) are the end-to-end harness in Harness/.
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
        return HarnessEntry.Run(args);
    }
}
