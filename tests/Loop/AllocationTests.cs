using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using XtcpEpoll.Loop.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Loop;

[Collection(QuietProcessCollection.Name)]
public sealed class AllocationTests(ITestOutputHelper output)
{
    /// <param name="walkIntervalSeconds">60 (the default): after the first poll every socket is looked up (400
    /// exact requests per namespace, 7 sendmsgs, one reply datagram each); 0: every poll walks.</param>
    /// <param name="emitChanged">--emit changed: every socket is fingerprinted and compared, ~1/60 sent.</param>
    [Theory]
    [InlineData(60, false)]
    [InlineData(0, false)]
    [InlineData(60, true)]
    public void Steady_state_polls_allocate_per_namespace_not_per_socket(int walkIntervalSeconds, bool emitChanged)
    {
        const int namespaces = 10, listeners = 400, polls = 5;
        using var farm = new TestNamespaceFarm("loop-alloc");
        for (int i = 0; i < namespaces; i++) farm.CreateWithListeners(listeners);
        var sink = new CountingSink();
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromSeconds(walkIntervalSeconds);
        if (emitChanged)
        {
            options.Emit = XtcpEpoll.Loop.EmitMode.Changed;
            options.KeyframeInterval = options.Frequency * 60;
        }
        using var harness = new CollectorHarness(options, sink);
        harness.Start();
        harness.WaitForPolls(1, TimeSpan.FromSeconds(30));
        for (int i = 0; i < 3; i++) harness.PollOnce(TimeSpan.FromSeconds(30)); // warm-up: pools, JIT, HashSet sizes

        var threadsBefore = ThreadAllocations.Snapshot();
        long blocksBefore = XtcpEpoll.Loop.Polling.SegmentPool.BytesCreated;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long recordsBefore = sink.Records;
        for (int i = 0; i < polls; i++) harness.PollOnce(TimeSpan.FromSeconds(30));
        long perPoll = (GC.GetTotalAllocatedBytes(precise: true) - before) / polls;
        long socketsPerPoll = (sink.Records - recordsBefore) / polls;

        var threadsAfter = ThreadAllocations.Snapshot();
        // Pipe blocks are kept for the collector's lifetime; their number grows to what the pipe bound allows,
        // then stays: that bounded warm-up is not per-poll garbage.
        long blockGrowthPerPoll = (XtcpEpoll.Loop.Polling.SegmentPool.BytesCreated - blocksBefore) / polls;
        var perThread = new Dictionary<string, long>();
        foreach (var (name, bytes) in threadsAfter)
            if (name.StartsWith("xtcp-", StringComparison.Ordinal)) perThread[name] = (bytes - threadsBefore.GetValueOrDefault(name)) / polls;
        output.WriteLine(string.Join(", ", perThread.Select(t => $"{t.Key} {t.Value} B/poll")) + $"; pipe blocks created {blockGrowthPerPoll} B/poll");
        long laneBytes = perThread.Where(t => t.Key.StartsWith("xtcp-lane-", StringComparison.Ordinal)).Sum(t => t.Value) - blockGrowthPerPoll;
        output.WriteLine($"{socketsPerPoll} sockets per poll, {perPoll} bytes allocated per poll (process-wide), {perPoll / (double)socketsPerPoll:F1} B/socket");
        if (emitChanged) Assert.InRange(socketsPerPoll, 1, namespaces * listeners / 10); // idle listeners: keyframes only
        else Assert.Equal(namespaces * listeners, socketsPerPoll);
        // A single 24-byte object per socket would already be 96 KB per poll here.
        Assert.Equal(5, perThread.Count(t => t.Key.StartsWith("xtcp-lane-", StringComparison.Ordinal) || t.Key.StartsWith("xtcp-parse-", StringComparison.Ordinal) || t.Key == "xtcp-control"));
        foreach (var (name, bytes) in perThread)
        {
            if (name == "xtcp-control") Assert.InRange(bytes, 0, 16 * 1024 + namespaces * 1024); // plan + contexts + /proc reads
            else if (name.StartsWith("xtcp-parse-", StringComparison.Ordinal)) Assert.InRange(bytes, 0, 4 * 1024); // waits only
        }
        Assert.InRange(laneBytes, 0, 2 * 4 * 1024); // lanes: nothing per socket or per datagram
    }

    /// <summary>Counts records without allocating.</summary>
    private sealed class CountingSink : IRecordSink
    {
        private long _records;
        public long Records => Interlocked.Read(ref _records);
        public void Append(ReadOnlySpan<FlatRecord> records) => Interlocked.Add(ref _records, records.Length);
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
