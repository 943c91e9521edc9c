using System.Diagnostics;
using XtcpEpoll.Loop.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Thread and fd measurements need a quiet process: this collection runs alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QuietProcessCollection
{
    public const string Name = "loop-quiet-process";
}

[Collection(QuietProcessCollection.Name)]
public sealed class ThreadBudgetTests(ITestOutputHelper output)
{
    /// <summary>Documented ceiling of OS threads the collector adds (design/ARCHITECTURE.md).</summary>
    private const int ThreadCeiling = 24;
    /// <summary>
    /// Polls are driven by the test, so the deadline can be far beyond any poll: a loaded machine then slows a
    /// 1,000-namespace poll (seen: past the harness's 20 s, leaving 943 of 1,000 in it) but cannot cut it short.
    /// </summary>
    private static readonly TimeSpan PollDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan PollWait = PollDeadline + TimeSpan.FromSeconds(30);

    [Fact]
    public void Threads_do_not_depend_on_the_number_of_namespaces()
    {
        var named = new List<int>();
        var added = new List<int>();
        foreach (int size in new[] { 1, 100, 1000 })
        {
            using var farm = new TestNamespaceFarm("loop-threads");
            var clock = Stopwatch.StartNew();
            var namespaces = farm.CreateMany(size, SocketKit.PairV4);
            var created = clock.Elapsed;
            int before = ThreadsOutsideThePool();
            var options = CollectorHarness.OptionsFor(farm);
            options.Timeout = PollDeadline;
            using (var harness = new CollectorHarness(options, new CollectingSink { KeepRecords = true }))
            {
                harness.Start();
                harness.WaitForPolls(1, PollWait);
                var firstPoll = clock.Elapsed - created;
                var cpuBefore = ThreadCpu.Read("xtcp-");
                var pollClock = Stopwatch.StartNew();
                harness.PollOnce(PollWait);
                harness.PollOnce(PollWait);
                var twoPolls = pollClock.Elapsed;
                var cpuAfter = ThreadCpu.Read("xtcp-");
                var laneCpu = cpuAfter.Select(a => (a.Name, Ticks: a.UserTicks + a.SystemTicks - cpuBefore.Where(b => b.Tid == a.Tid).Sum(b => b.UserTicks + b.SystemTicks), Sys: a.SystemTicks - cpuBefore.Where(b => b.Tid == a.Tid).Sum(b => b.SystemTicks))).ToList();
                output.WriteLine($"{size} namespaces: start→first poll end {firstPoll.TotalSeconds:F2}s; 2 polls {twoPolls.TotalSeconds:F2}s; lane CPU over 2 polls (ticks of 10ms, sys): " +
                                 string.Join(" ", laneCpu.Select(l => $"{l.Name}={l.Ticks}({l.Sys})")));
                if (size == 1000)
                    Assert.All(laneCpu.Where(l => l.Name.StartsWith("xtcp-lane-", StringComparison.Ordinal)), l => Assert.True(l.Ticks > 0, $"{l.Name} did no dump work: the kernel's work is not spread over the lanes"));
                for (int p = 0; p < 3; p++)
                {
                    var summary = harness.Summaries[p].Summary;
                    Assert.False(summary.TimedOut, $"poll {p} of {size} namespaces hit the {PollDeadline.TotalSeconds} s deadline ({summary.Namespaces} namespaces, {summary.Sockets} sockets)");
                    var poll = harness.Sink.Poll(p);
                    Assert.Equal(size, poll.Select(r => r.NetnsInode).Distinct().Count());
                    Assert.Equal(size * 3, poll.Count);
                }
                int threads = ThreadsOutsideThePool();
                var names = ProcessStats.ThreadNames();
                named.Add(names.Count(n => n.StartsWith("xtcp-", StringComparison.Ordinal)));
                added.Add(threads - before);
                output.WriteLine($"{size} namespaces: created in {created.TotalSeconds:F1}s, threads besides pool workers {before} -> {threads}, " +
                                 $"collector threads {named[^1]} ({string.Join(",", names.Where(n => n.StartsWith("xtcp-", StringComparison.Ordinal)))}), " +
                                 $"total {clock.Elapsed.TotalSeconds:F1}s; all: {string.Join(",", names)}");
            }
        }
        Assert.All(named, n => Assert.Equal(2 + 2 * 2, n)); // control + opener + 2 lanes x (dump + parse)
        Assert.All(added, n => Assert.InRange(n, 0, ThreadCeiling));
        Assert.InRange(added.Max() - added.Min(), 0, 2); // the same at 1, 100 and 1,000 namespaces
    }

    /// <summary>
    /// Threads other than the .NET thread pool's (".NET TP Worker", "... Gate", "... Wait"): the pool grows
    /// and retires workers on its own schedule after the parallel tests that ran before this collection, so
    /// counting them made the spread between sizes random (3 seen under load). The collector's own threads are
    /// named and counted exactly (<c>named</c>).
    /// </summary>
    private static int ThreadsOutsideThePool() => ProcessStats.ThreadNames().Count(n => !n.StartsWith(".NET TP", StringComparison.Ordinal));
}
