using XtcpEpoll.Loop;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Loop;

[Collection(QuietProcessCollection.Name)]
public sealed class OpeningBurstTests(ITestOutputHelper output)
{
    [Fact]
    public void Polling_of_open_namespaces_goes_on_while_a_thousand_new_ones_are_opened()
    {
        using var farm = new TestNamespaceFarm("loop-burst");
        var original = farm.CreateMany(5, SocketKit.PairV4);
        var options = CollectorHarness.OptionsFor(farm);
        options.Frequency = TimeSpan.FromMilliseconds(500);
        options.Timeout = TimeSpan.FromMilliseconds(450);
        options.JitterPct = 0;
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, TimeSpan.FromSeconds(30));

        int pollsBefore = harness.Sink.Polls;
        var rampStart = DateTime.UtcNow;
        farm.CreateMany(1000, SocketKit.Listener); // the opener works through these while lanes keep polling
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (harness.Collector.NamespacesOpen < 1005 && DateTime.UtcNow < deadline)
            harness.WaitForPolls(harness.Sink.Polls + 1, TimeSpan.FromSeconds(30));
        var rampEnd = DateTime.UtcNow;
        int pollsAfter = harness.Sink.Polls;
        Assert.Equal(1005, harness.Collector.NamespacesOpen);

        List<(PollSummary Summary, DateTime EndedUtc)> ramp;
        lock (harness.Summaries) ramp = harness.Summaries.Skip(pollsBefore).Take(pollsAfter - pollsBefore).ToList();
        output.WriteLine($"ramp {(rampEnd - rampStart).TotalSeconds:F1}s, {ramp.Count} polls during it, namespaces per poll: " +
                         string.Join(",", ramp.Select(p => p.Summary.Namespaces)));
        // The spec: opening 1,000 namespaces must not stall polling for more than one poll period. A poll
        // that runs past a tick skips it (no doubled polls), so the next one starts at most a period after
        // the previous one ended.
        Assert.NotEmpty(ramp);
        List<(PollSummary Summary, DateTime EndedUtc)> all;
        lock (harness.Summaries) all = [.. harness.Summaries];
        for (int p = Math.Max(1, pollsBefore); p < pollsAfter; p++)
        {
            var started = DateTime.UnixEpoch.AddTicks(all[p].Summary.TimestampNs / 100);
            var gap = started - all[p - 1].EndedUtc;
            Assert.True(gap <= options.Frequency + TimeSpan.FromMilliseconds(250),
                $"poll {p} started {gap.TotalMilliseconds:F0} ms after the previous one ended (period {options.Frequency.TotalMilliseconds} ms)");
        }
        for (int p = pollsBefore; p < pollsAfter; p++)
        {
            var poll = harness.Sink.Poll(p);
            foreach (var ns in original)
                Assert.Equal(ns.Expected.ToHashSet(), poll.Where(r => r.Netns == ns.Name).Select(r => r.Key).ToHashSet());
        }
    }
}
