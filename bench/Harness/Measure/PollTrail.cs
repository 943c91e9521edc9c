using XtcpEpoll.Bench.Harness.Collector;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// Follows a collector poll by poll: scrapes /metrics every <c>every</c> and keeps the snapshot taken right
/// after each poll ended (the poll count went up), so one poll's counters (walks by reason, deferrals,
/// timeouts) are the difference of two consecutive entries. Not for CPU measurements: each scrape costs the
/// collector 10-25 ms of CPU (see <see cref="PollMeter"/>).
/// </summary>
internal sealed class PollTrail(CollectorProcess collector, TimeSpan every)
{
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(100);
    private readonly List<MetricsSnapshot?> _afterPoll = new();

    /// <summary>Polls ended so far (complete + timed out).</summary>
    public int Count { get; private set; }
    /// <summary>Polls that ended between two scrapes together with another: their counters are merged into the later entry.</summary>
    public int Merged { get; private set; }

    /// <summary>The snapshot after poll <paramref name="poll"/> (1-based), or null when that poll's end was not seen alone.</summary>
    public MetricsSnapshot? After(int poll) => poll >= 1 && poll <= _afterPoll.Count ? _afterPoll[poll - 1] : null;

    /// <summary>How much a counter grew in poll <paramref name="poll"/> (NaN when its or the previous poll's snapshot is missing).</summary>
    public double InPoll(int poll, string name, string? label = null, string? value = null)
    {
        var after = After(poll);
        if (after == null) return double.NaN;
        if (poll == 1) return after.GetOrZero(name, label, value);
        var before = After(poll - 1);
        return before == null ? double.NaN : after.GetOrZero(name, label, value) - before.GetOrZero(name, label, value);
    }

    /// <summary>Scrapes until <paramref name="polls"/> polls have ended; false if the collector died or time ran out.</summary>
    public async Task<bool> WaitForAsync(int polls, TimeSpan limit, CancellationToken ct)
    {
        var until = DateTime.UtcNow + limit;
        while (Count < polls)
        {
            if (DateTime.UtcNow > until || collector.HasExited) return false;
            await Task.Delay(every, ct);
            var m = await collector.Metrics.TryScrapeAsync(ct);
            if (m == null) continue;
            int count = (int)CollectorProcess.AllPolls(m);
            if (count <= Count) continue;
            // The collector counts the poll (xtcp_polls_total) before it adds the poll's walks and lookups: a
            // scrape in between sees the count without them. A second scrape a moment later has both.
            await Task.Delay(SettleDelay, ct);
            if (await collector.Metrics.TryScrapeAsync(ct) is { } settled && (int)CollectorProcess.AllPolls(settled) == count) m = settled;
            // Polls that ended unseen get no snapshot of their own (null entries): their counters are in this one.
            for (int p = Count + 1; p < count; p++) { _afterPoll.Add(null); Merged++; }
            _afterPoll.Add(m);
            Count = count;
        }
        return true;
    }
}
