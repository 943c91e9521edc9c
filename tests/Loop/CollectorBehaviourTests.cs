using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Failure paths and scheduling options of the collector, on real namespaces.</summary>
public sealed class CollectorBehaviourTests
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_file_that_is_not_a_namespace_is_a_counted_open_failure_and_never_emits_records()
    {
        using var farm = new TestNamespaceFarm("loop-stray");
        var good = farm.Create(SocketKit.Full);
        farm.CreateStrayFile("stray-file");
        double failuresBefore = LoopMetrics.NamespaceOpenFailures.WithLabels("not_netns").Value;
        var options = CollectorHarness.OptionsFor(farm);
        options.ReconcileInterval = TimeSpan.FromMilliseconds(500);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, PollWait);

        // The stray file is re-probed (placeholder back-off ~2 s), then opened and refused; reconcile retries it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (LoopMetrics.NamespaceOpenFailures.WithLabels("not_netns").Value < failuresBefore + 2 && DateTime.UtcNow < deadline)
            harness.PollOnce(PollWait);
        Assert.True(LoopMetrics.NamespaceOpenFailures.WithLabels("not_netns").Value >= failuresBefore + 2, "stray file open failure counted at least twice (first try + reconcile retry)");
        harness.PollOnce(PollWait);

        Assert.Equal(1, harness.Collector.NamespacesOpen);
        for (int p = 0; p < harness.Sink.Polls; p++)
        {
            var poll = harness.Sink.Poll(p);
            Assert.All(poll, r => Assert.Equal(good.Name, r.Netns));
            Assert.Equal(good.Expected.Count, poll.Count);
        }
    }

    [Fact]
    public void A_namespace_deleted_while_running_is_dropped_and_its_socket_closed()
    {
        using var farm = new TestNamespaceFarm("loop-delete");
        var keep = farm.Create(SocketKit.Full);
        var gone = farm.Create(SocketKit.Full);
        using var harness = new CollectorHarness(CollectorHarness.OptionsFor(farm));
        harness.Start();
        harness.WaitForPolls(1, PollWait);
        Assert.Equal(2, harness.Collector.NamespacesOpen);
        farm.Delete(gone);
        var deadline = DateTime.UtcNow + PollWait;
        while (harness.Collector.NamespacesOpen != 1 && DateTime.UtcNow < deadline) harness.PollOnce(PollWait);
        harness.PollOnce(PollWait);

        Assert.Equal(1, harness.Collector.NamespacesOpen);
        var last = harness.Sink.Poll(harness.Sink.Polls - 1);
        Assert.All(last, r => Assert.Equal(keep.Name, r.Netns));
        Assert.Equal(keep.Expected.Count, last.Count);
    }

    [Fact]
    public async Task Max_loops_stops_the_collector_after_that_many_polls()
    {
        using var farm = new TestNamespaceFarm("loop-max");
        var ns = farm.Create(SocketKit.PairV4);
        var options = CollectorHarness.OptionsFor(farm);
        options.Frequency = TimeSpan.FromMilliseconds(200);
        options.Timeout = TimeSpan.FromMilliseconds(150);
        options.MaxLoops = 3;
        using var harness = new CollectorHarness(options);
        harness.Start();

        await harness.Collector.Completion.WaitAsync(PollWait); // stops by itself after --max-loops
        Assert.Equal(3, harness.Sink.Polls);
        Assert.Equal(3, harness.Collector.PollsCompleted);
        for (int p = 0; p < 3; p++) Assert.Equal(ns.Expected.Count, harness.Sink.Poll(p).Count);
    }

    [Fact]
    public void Spread_paces_the_sends_across_the_interval_and_keeps_the_poll_timestamp()
    {
        using var farm = new TestNamespaceFarm("loop-spread");
        var namespaces = farm.CreateMany(4, SocketKit.Listener);
        var options = CollectorHarness.OptionsFor(farm);
        options.Workers = 1;
        options.Spread = true;
        options.Frequency = TimeSpan.FromSeconds(60);
        options.JitterPct = 0;
        options.Timeout = TimeSpan.FromSeconds(58.4); // spread window = 60 - 58.4 = 1.6 s → a send every 0.4 s
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, PollWait);

        var (summary, ended) = harness.Summaries[0];
        var started = DateTime.UnixEpoch.AddTicks(summary.TimestampNs / 100);
        Assert.True(ended - started >= TimeSpan.FromSeconds(1.1), $"spread poll took only {(ended - started).TotalSeconds:F2}s");
        var poll = harness.Sink.Poll(0);
        Assert.Equal(namespaces.Count, poll.Count);
        Assert.All(poll, r => Assert.Equal(summary.TimestampNs, r.TimestampNs));
        Assert.False(summary.TimedOut);
    }

    [Fact]
    public void A_dump_past_the_deadline_is_counted_the_poll_goes_on_and_the_next_polls_are_exact()
    {
        using var farm = new TestNamespaceFarm("loop-timeout");
        var big = farm.CreateWithListeners(3000);
        var small = farm.Create(SocketKit.Full);
        var sink = new GatedSink();
        var options = CollectorHarness.OptionsFor(farm);
        options.Workers = 1;
        options.Timeout = TimeSpan.FromMilliseconds(300);
        options.PipeBytesPerLane = 256 * 1024;
        double timeoutsBefore = LoopMetrics.DumpTimeouts.Value;
        using var harness = new CollectorHarness(options, sink);
        harness.Start();

        // The sink holds the parse worker, the pipe fills, the lane stops reading: the deadline passes.
        Assert.True(sink.Entered.Wait(PollWait));
        Thread.Sleep(options.Timeout * 2); // let the deadline pass (the stimulus, not a synchronisation)
        sink.Release();
        harness.WaitForPolls(1, PollWait);
        Assert.Equal(FlushReason.PollTimeout, sink.Reason(0));
        Assert.True(LoopMetrics.DumpTimeouts.Value > timeoutsBefore);

        // Later polls never mix the abandoned dump's data in: each one is exact, or a counted timeout.
        bool sawComplete = false;
        for (int i = 0; i < 5 && !sawComplete; i++)
        {
            harness.PollOnce(PollWait);
            int p = sink.Polls - 1;
            var poll = sink.Poll(p);
            Assert.Equal(poll.Count, poll.Select(r => r.Cookie).Distinct().Count());
            Assert.Equal(small.Expected.ToHashSet(), poll.Where(r => r.Netns == small.Name).Select(r => r.Key).ToHashSet());
            var bigKeys = poll.Where(r => r.Netns == big.Name).Select(r => r.Key).ToHashSet();
            Assert.Subset(big.Expected.ToHashSet(), bigKeys);
            if (sink.Reason(p) == FlushReason.PollEnd)
            {
                Assert.Equal(big.Expected.Count, bigKeys.Count);
                sawComplete = true;
            }
        }
        Assert.True(sawComplete, "a complete poll follows once the timed-out dump was drained");
    }

    [Fact]
    public void A_sink_that_throws_does_not_stop_collection()
    {
        using var farm = new TestNamespaceFarm("loop-badsink");
        farm.Create(SocketKit.PairV4);
        var sink = new ThrowingSink();
        using var harness = new CollectorHarness(CollectorHarness.OptionsFor(farm), sink);
        harness.Start();
        harness.WaitForPolls(1, PollWait);
        harness.PollOnce(PollWait);

        Assert.Equal(2, sink.Polls);
        Assert.True(sink.Attempts >= 2);
        Assert.False(harness.Collector.Completion.IsCompleted);
    }

    private sealed class ThrowingSink : CollectingSink
    {
        public int Attempts;
        public override void Append(ReadOnlySpan<FlatRecord> records)
        {
            Interlocked.Increment(ref Attempts);
            throw new InvalidOperationException("sink broken");
        }
    }

    /// <summary>A sink whose Append blocks until released (holds the parse worker).</summary>
    private sealed class GatedSink : CollectingSink
    {
        private readonly ManualResetEventSlim _gate = new();
        public ManualResetEventSlim Entered { get; } = new();
        public void Release() => _gate.Set();

        public override void Append(ReadOnlySpan<FlatRecord> records)
        {
            Entered.Set();
            _gate.Wait();
            base.Append(records);
        }
    }
}
