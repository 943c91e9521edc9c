using System.Globalization;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// `xtcp-epoll-bench emit-cputime`: <see cref="EmitBenchmarks"/> (parse + compare + marshal per socket, --emit all
/// against --emit changed) in THREAD CPU time, which a loaded machine inflates far less than BenchmarkDotNet's
/// wall time. The three cases run interleaved, round by round; each figure is the best round. No root needed.
/// </summary>
public static class EmitCpuTime
{
    public const string Usage = "emit-cputime [--rounds 30] [--passes 20] [--warmup 100]";

    public static int Run(string[] args)
    {
        int rounds, passes, warmup;
        try
        {
            var options = new HarnessOptions(args);
            rounds = options.Int("rounds", 30);
            passes = options.Int("passes", 20);
            warmup = options.Int("warmup", 100);
            options.RejectUnknown();
            if (rounds < 1 || passes < 1 || warmup < 0) throw new ArgumentException("--rounds and --passes must be at least 1, --warmup at least 0");
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"emit-cputime: {e.Message}\nusage: xtcp-epoll-bench {Usage}");
            return 2;
        }

        var bench = new EmitBenchmarks();
        bench.Setup();
        var cases = new (string Name, Func<int> Pass)[] { ("all", bench.All), ("changed, every socket emitted (K=1)", bench.Changed_EverySocketEmitted), ("changed, idle (K=60)", bench.Changed_Idle) };
        for (int i = 0; i < warmup; i++) foreach (var c in cases) c.Pass(); // past tiered JIT
        var best = new long[cases.Length];
        var allocated = new long[cases.Length];
        var emitted = new int[cases.Length];
        Array.Fill(best, long.MaxValue);
        for (int round = 0; round < rounds; round++)
        {
            for (int c = 0; c < cases.Length; c++)
            {
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                long start = ThreadCpuClock.NowNs();
                for (int p = 0; p < passes; p++) emitted[c] = cases[c].Pass();
                best[c] = Math.Min(best[c], ThreadCpuClock.NowNs() - start);
                allocated[c] = Math.Max(allocated[c], GC.GetAllocatedBytesForCurrentThread() - bytes);
            }
        }
        double NsPerSocket(int c) => best[c] / (double)passes / EmitBenchmarks.SocketsInCapture;
        for (int c = 0; c < cases.Length; c++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{cases[c].Name}: {NsPerSocket(c):F1} ns/socket ({NsPerSocket(c) / NsPerSocket(0) * 100:F0} % of all), {emitted[c]:N0} of {EmitBenchmarks.SocketsInCapture:N0} records emitted per pass, {allocated[c]} B allocated per {passes} passes"));
        Console.WriteLine($"(thread CPU, best of {rounds} rounds x {passes} passes over 6_6_44/tcp_1000_sockets.pcap)");
        var (fingerprint, lookup) = Parts(rounds, passes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"of which: fingerprint {fingerprint:F1} ns/socket, table lookup of an unchanged socket {lookup:F1} ns/socket (parsed sockets held in memory)"));
        return 0;
    }

    /// <summary>The compare's two parts alone, over the capture's sockets parsed once: fingerprint, then table lookup.</summary>
    private static (double Fingerprint, double Lookup) Parts(int rounds, int passes)
    {
        var errors = new XtcpEpoll.Netlink.Parsing.ParseErrorCounters();
        var sockets = new List<XtcpEpoll.Netlink.Parsing.ParsedSocket>();
        var socket = default(XtcpEpoll.Netlink.Parsing.ParsedSocket);
        foreach (var datagram in XtcpEpoll.Netlink.Capture.CaptureFile.ReadDatagrams(BenchFixtures.Capture("6_6_44/tcp_1000_sockets.pcap")))
        {
            var reader = new XtcpEpoll.Netlink.Parsing.SockDiagReader(datagram, errors);
            XtcpEpoll.Netlink.Parsing.SockDiagItem item;
            while ((item = reader.Next(ref socket)) != XtcpEpoll.Netlink.Parsing.SockDiagItem.End)
                if (item == XtcpEpoll.Netlink.Parsing.SockDiagItem.Socket) sockets.Add(socket);
        }
        var array = sockets.ToArray();
        var fingerprints = new ulong[array.Length];
        var table = new XtcpEpoll.Loop.Changes.FingerprintTable(new XtcpEpoll.Loop.Changes.KeyframeSchedule(1_000_000));
        uint poll = 0;
        void Fingerprints() { for (int i = 0; i < array.Length; i++) fingerprints[i] = XtcpEpoll.Loop.Changes.SocketFingerprint.Of(ref array[i]); }
        void Lookups() { table.BeginPoll(++poll); for (int i = 0; i < array.Length; i++) table.Classify(array[i].Cookie, fingerprints[i]); table.EndPoll(); }
        double Best(Action pass)
        {
            for (int i = 0; i < 20; i++) pass();
            long best = long.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                long start = ThreadCpuClock.NowNs();
                for (int p = 0; p < passes; p++) pass();
                best = Math.Min(best, ThreadCpuClock.NowNs() - start);
            }
            return best / (double)passes / array.Length;
        }
        return (Best(Fingerprints), Best(Lookups));
    }
}
