using System.Diagnostics;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Loop;

[Collection(QuietProcessCollection.Name)]
public sealed class ChurnTests(ITestOutputHelper output)
{
    /// <summary>Discovery latency allowance: inotify event + placeholder re-probe (20 ms) + open.</summary>
    private static readonly TimeSpan DiscoveryMargin = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void Namespaces_churning_every_100ms_for_a_minute_are_all_polled_with_flat_threads_and_no_fd_leak()
    {
        var fdsBefore = FdTargets();
        var lifetimes = new Dictionary<string, (ulong Inode, DateTime Created, DateTime Deleted)>();
        var threadSamples = new List<int>();
        var collectorThreads = new List<int>();
        var nonPoolThreads = new List<int>();
        CollectorHarness? harness = null;
        var farm = new TestNamespaceFarm("loop-churn");
        try
        {
            var live = new Queue<TestNamespace>();
            foreach (var ns in farm.CreateMany(200, SocketKit.Listener))
            {
                live.Enqueue(ns);
                lifetimes[ns.Name] = (ns.Inode, DateTime.MinValue, DateTime.MaxValue);
            }
            var options = CollectorHarness.OptionsFor(farm);
            var (frequency, measured) = CalibratedFrequency(farm);
            options.Frequency = frequency;
            options.Timeout = frequency * 0.8;
            options.JitterPct = 10;
            harness = new CollectorHarness(options);
            harness.Start();
            harness.WaitForPolls(1, TimeSpan.FromSeconds(30));
            double churnCollectionsBefore = LoopMetrics.GcAfterCloses.Value;

            var clock = Stopwatch.StartNew();
            var churnFor = TimeSpan.FromSeconds(Environment.GetEnvironmentVariable("XT_CHURN_SECONDS") is { } s ? double.Parse(s) : 61);
            int step = 0;
            while (clock.Elapsed < churnFor)
            {
                var created = farm.Create(SocketKit.Listener);
                lifetimes[created.Name] = (created.Inode, DateTime.UtcNow, DateTime.MaxValue);
                live.Enqueue(created);
                var victim = live.Dequeue();
                var (inode, born, _) = lifetimes[victim.Name];
                lifetimes[victim.Name] = (inode, born, DateTime.UtcNow);
                farm.Delete(victim);
                if (++step % 10 == 0 && step >= 50) // sampled once a second after a 5 s warm-up
                {
                    var names = ProcessStats.ThreadNames();
                    threadSamples.Add(names.Count);
                    collectorThreads.Add(names.Count(n => n.StartsWith("xtcp-", StringComparison.Ordinal)));
                    nonPoolThreads.Add(names.Count(n => !n.StartsWith(".NET ", StringComparison.Ordinal)));
                }
                var next = TimeSpan.FromMilliseconds(100 * step) - clock.Elapsed; // pacing the churn, not synchronising
                if (next > TimeSpan.Zero) Thread.Sleep(next);
            }
            Assert.False(harness.Collector.Completion.IsFaulted, harness.Collector.Completion.Exception?.ToString());

            List<(XtcpEpoll.Loop.PollSummary Summary, DateTime EndedUtc)> polls;
            lock (harness.Summaries) polls = [.. harness.Summaries];
            Assert.True(polls.Count >= churnFor / frequency * 0.5, $"only {polls.Count} polls in {churnFor} at one per {frequency.TotalSeconds:F1} s");
            // A poll that hit its deadline, or whose walk budget deferred walks (a loaded machine: new namespaces
            // then have their first walk in a later poll), is not a whole poll: counted, not checked.
            int timedOut = polls.Count(p => p.Summary.TimedOut), deferred = polls.Count(p => !p.Summary.TimedOut && p.Summary.WalksDeferred > 0);
            Assert.True(timedOut + deferred <= polls.Count / 2, $"{timedOut} of {polls.Count} polls timed out, {deferred} deferred walks");
            int checkedPairs = 0;
            for (int p = 0; p < polls.Count; p++)
            {
                var (summary, ended) = polls[p];
                if (summary.TimedOut || summary.WalksDeferred > 0) continue;
                Assert.Equal(0, summary.DumpErrors);
                var started = DateTime.UnixEpoch.AddTicks(summary.TimestampNs / 100);
                var seen = harness.Sink.Poll(p).Select(r => (r.Netns, r.NetnsInode)).ToHashSet();
                foreach (var (name, (inode, born, died)) in lifetimes)
                {
                    if (born + DiscoveryMargin > started || died < ended) continue;
                    checkedPairs++;
                    Assert.True(seen.Contains((name, inode)), $"poll {summary.PollId} ({summary.Namespaces} namespaces, {summary.Sockets} sockets, {summary.DumpErrors} dump errors, {started:HH:mm:ss.fff}-{ended:HH:mm:ss.fff}): namespace {name} (born {born:HH:mm:ss.fff}, died {died:HH:mm:ss.fff}) lived through it but was not polled");
                }
            }
            output.WriteLine($"a whole poll of 200 namespaces took {measured.TotalMilliseconds:F0} ms before the churn: polls every {frequency.TotalSeconds:F1} s; " +
                             $"{step} churn steps, {polls.Count} polls, {checkedPairs} namespace-polls checked, " +
                             $"threads {threadSamples.Min()}..{threadSamples.Max()} (without the runtime's own \".NET …\" threads {nonPoolThreads.Min()}..{nonPoolThreads.Max()}), " +
                             $"collector threads {collectorThreads.Min()}..{collectorThreads.Max()}, timeouts {timedOut}, polls with deferred walks {deferred}");
            Assert.All(collectorThreads, n => Assert.Equal(6, n));
            // ~600 closed namespaces: the --gc-after-closes collection (default 256) ran between two polls.
            Assert.True(step < 2 * options.GcAfterCloses || LoopMetrics.GcAfterCloses.Value > churnCollectionsBefore,
                $"{step} namespaces closed, but no collection after --gc-after-closes {options.GcAfterCloses}");
            // The runtime's own threads (thread pool used by the test host, background GC) come and go by a few;
            // every other thread of the process must stay put.
            Assert.InRange(nonPoolThreads.Max() - nonPoolThreads.Min(), 0, 2);
            Assert.InRange(threadSamples.Max() - threadSamples.Min(), 0, 5);
        }
        finally
        {
            harness?.Dispose();
            farm.Dispose();
        }
        var fdsAfter = FdTargets();
        var leaked = fdsAfter.Except(fdsBefore).ToList();
        Assert.True(leaked.Count == 0, "fds left behind: " + string.Join(", ", leaked));
    }

    /// <summary>
    /// The poll period for the churn: three times what a whole poll of the farm takes on this machine right now
    /// (measured with a deadline far beyond it), at least 1 s. Other work on a shared machine can make a 200-
    /// namespace poll take seconds; with a fixed 1 s period nearly every poll then timed out and nothing could
    /// be checked (seen: 37 of 41). Timed-out polls are still counted, and at most half may time out.
    /// </summary>
    private static (TimeSpan Frequency, TimeSpan Measured) CalibratedFrequency(TestNamespaceFarm farm)
    {
        using var probe = new CollectorHarness(CollectorHarness.OptionsFor(farm));
        probe.Start();
        probe.WaitForPolls(1, TimeSpan.FromSeconds(60));
        probe.PollOnce(TimeSpan.FromSeconds(60)); // the second poll: namespaces already open, as in the churn
        (PollSummary summary, DateTime ended) = probe.Summaries[^1];
        var measured = ended - DateTime.UnixEpoch.AddTicks(summary.TimestampNs / 100);
        var frequency = TimeSpan.FromMilliseconds(Math.Ceiling(3 * measured.TotalMilliseconds / 100) * 100);
        return (frequency < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : frequency, measured);
    }

    /// <summary>"fd -> target" of every open fd (a leak shows up by what it points at).</summary>
    internal static HashSet<string> FdTargets()
    {
        var set = new HashSet<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget ?? "";
                // The runtime keeps assemblies it loads on first use open; those are not the collector's.
                if (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal)) continue;
                set.Add(Path.GetFileName(fd) + " -> " + target);
            }
            catch (IOException) { } // the enumeration's own fd, gone already
        }
        return set;
    }
}
