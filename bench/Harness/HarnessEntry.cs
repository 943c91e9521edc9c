using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Modes;
using XtcpEpoll.Bench.Harness.Modes.Containers;
using XtcpEpoll.Bench.Harness.Population;

namespace XtcpEpoll.Bench;

/// <summary>
/// The end-to-end harness verbs (run as root): scale, dense, churn, kernel-cost, walk-interval, discovery, binaries, containers, selftest; `hold` is the
/// hidden socket-holder child. Exit codes: 0 PASS, 1 FAIL (a goal missed or the collector misbehaved),
/// 2 usage error, 3 harness error.
/// </summary>
public static class HarnessEntry
{
    private const string Usage = """
        usage: xtcp-epoll-bench VERB [options]   (run as root)
          scale        --ns 1,10,100,1000,2000 --polls 5 --conns 10 [--frequency 1s] [--request v2|compat]
          dense        --sockets 24000 --polls 5
          churn        --ns 1000 --interval 100ms --duration 10m --conns 2 [--grace 1s]
          kernel-cost  --ns 1000 --polls 5
          walk-interval --ns 1000 --conns 10 --ratio 30 [--frequency 5s] [--cases zero,interval] [--p50-goal 100ms]
          binaries     --ns 1000 --conns 10 --start-ns 10 [--collectors jit=PATH,aot=PATH] [--variant-env VAR=VALUE]
                       (JIT vs Native AOT builds side by side: RSS, threads, first poll, start to first record, size)
          discovery    --cases discovery,cost,churning,startup --ns 1000 --conns 10 --share 10 --rounds 3 [--frequency 10s]
                       [--walk-interval 60s] [--cpu-polls N] [--startup-ns 2000 --startup-listeners 2 --startup-conns 19 --startup-polls 5]
          containers   --containers 50 --rate 2s --duration 1h [--host-every 4] [--frequency 2s --timeout 1500ms] [--rss-limit-mb 64] [--attribution-window 7s] [--trend-min-duration 20m]
                       (issue 25: real podman containers of the project image replaced at --rate; attribution, destroys, threads, fds, RSS)
          selftest     --ns 20 --conns 10        (namespace and socket machinery only, checked with ss)
          bdn [BenchmarkDotNet args]             (micro-benchmarks)
          marshal-cputime [--records 10000]      (marshal ns/record in thread CPU time; no root needed)
        common: --collector PATH (published xtcp-epoll; default: dotnet publish src/Host into artifacts/collector)
                --out DIR (CSV and logs; default artifacts/bench)  --workers 2  --no-report  --quiet-wait 15s
                --collector-args="--states established ..." (extra collector options, for experiments; note the =)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine(Usage); return 2; }
        if (args[0] == "hold") return SocketHolder.Run();
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("XTCP_BENCH_NOT_ROOT_OK") == null)
        {
            Console.Error.WriteLine("harness: must run as root (it creates network namespaces)");
            return 2;
        }
        HarnessOptions options;
        try { options = new HarnessOptions(args[1..]); }
        catch (ArgumentException e) { Console.Error.WriteLine($"harness: {e.Message}"); return 2; }

        Cleanup.InstallSignalHandlers();
        StaleRuns.Remove();
        try
        {
            Func<HarnessContext, Task<bool>> mode = args[0] switch
            {
                "scale" => c => new ScaleMode(c).RunAsync(),
                "dense" => c => new DenseMode(c).RunAsync(),
                "churn" => c => new ChurnMode(c).RunAsync(),
                "kernel-cost" => c => new KernelCostMode(c).RunAsync(),
                "walk-interval" => c => new WalkIntervalMode(c).RunAsync(),
                "discovery" => c => new DiscoveryMode(c).RunAsync(),
                "selftest" => c => new SelfTestMode(c).RunAsync(),
                "binaries" => c => new BinariesMode(c).RunAsync(),
                "containers" => c => new ContainersMode(c).RunAsync(),
                _ => throw new ArgumentException($"unknown verb '{args[0]}'"),
            };
            var context = new HarnessContext(options, args[0], args);
            bool pass = mode(context).GetAwaiter().GetResult();
            return pass ? 0 : 1;
        }
        catch (ArgumentException e) { Console.Error.WriteLine($"harness: {e.Message}\n{Usage}"); return 2; }
        catch (OperationCanceledException) { Console.Error.WriteLine("harness: interrupted"); return 130; }
        catch (Exception e) { Console.Error.WriteLine($"harness: {e}"); return 3; }
        finally { Cleanup.RunAll(); }
    }
}
