using XtcpEpoll.Bench.Harness.Collector;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// Watches a running collector through /proc and /metrics: time to the first poll, then a window of K polls
/// after the warm-up. The window starts and ends right after a poll count change, so it holds exactly the
/// CPU of K polls plus the idle time between them. Scrapes run every frequency/2; their own CPU in the
/// collector is measured afterwards and subtracted.
/// </summary>
internal static class PollMeter
{
    /// <summary>Warm-up lasts at least this long after start: tiered JIT recompiles hot methods in the first seconds.</summary>
    public static readonly TimeSpan MinWarmup = TimeSpan.FromSeconds(5);

    public static async Task<PollMeasurement> MeasureAsync(CollectorProcess collector, int warmup, int polls, TimeSpan frequency, CancellationToken ct)
    {
        var result = new PollMeasurement();
        var startLimit = TimeSpan.FromSeconds(120) + 3 * frequency;
        var first = await collector.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) >= 1, TimeSpan.FromMilliseconds(100), startLimit, ct);
        if (first == null)
        {
            result.Error = collector.HasExited ? $"collector exited (code {collector.Stop(TimeSpan.Zero)}) before its first poll" : "no poll within " + startLimit;
            return result;
        }
        result.FirstPollSec = (first.AtNs - collector.StartedNs) / 1e9;

        var interval = TimeSpan.FromMilliseconds(Math.Max(50, frequency.TotalMilliseconds / 2));
        long warmUntil = collector.StartedNs + (long)MinWarmup.TotalMilliseconds * 1_000_000;
        var atWarm = await collector.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) >= warmup && m.AtNs >= warmUntil, interval,
            startLimit + MinWarmup + warmup * frequency * 3, ct);
        var a = collector.Sample();
        if (atWarm == null || a == null) { result.Error = "collector stopped during warm-up"; return result; }

        double startCount = CollectorProcess.AllPolls(atWarm), lastCount = startCount;
        double startTimeouts = atWarm.GetOrZero("xtcp_polls_total", "outcome", "timeout");
        double histSum0 = atWarm.GetOrZero("xtcp_poll_duration_seconds_sum"), histCount0 = atWarm.GetOrZero("xtcp_poll_duration_seconds_count");
        int scrapes = 0;
        MetricsSnapshot last = atWarm;
        ProcSample b = a.Value;
        var limit = DateTime.UtcNow + (polls + 2) * 4 * frequency + TimeSpan.FromSeconds(30);
        while (lastCount < startCount + polls)
        {
            if (DateTime.UtcNow > limit || collector.HasExited) { result.Error = $"only {lastCount - startCount} of {polls} polls happened"; break; }
            await Task.Delay(interval, ct);
            var m = await collector.Metrics.TryScrapeAsync(ct);
            var s = collector.Sample();
            if (m == null || s == null) continue;
            scrapes++;
            Track(result, s.Value);
            double count = CollectorProcess.AllPolls(m);
            if (count > lastCount)
            {
                result.PollDurationsSec.Add(m.Get("xtcp_last_poll_duration_seconds"));
                lastCount = count;
                last = m;
                b = s.Value;
            }
        }
        result.Polls = (int)(lastCount - startCount);
        result.TimeoutPolls = (int)(last.GetOrZero("xtcp_polls_total", "outcome", "timeout") - startTimeouts);
        result.SocketsPerPoll = last.Get("xtcp_last_poll_sockets");
        result.NamespacesPerPoll = last.Get("xtcp_last_poll_namespaces");
        result.NamespacesOpen = last.Get("xtcp_namespaces_open");
        double histCount = last.GetOrZero("xtcp_poll_duration_seconds_count") - histCount0;
        result.PollMeanSec = histCount > 0 ? (last.GetOrZero("xtcp_poll_duration_seconds_sum") - histSum0) / histCount : double.NaN;
        result.OpenFds = b.OpenFds;
        result.RssKb = b.RssKb;
        if (result.Polls > 0)
        {
            double perScrape = await ScrapeCostAsync(collector, ct);
            result.ScrapeCpuSec = perScrape;
            var (total, user, sys) = ProcSample.CpuBetween(a.Value, b);
            double corrected = Math.Max(0, total - perScrape * scrapes);
            double scale = total > 0 ? corrected / total : 1;
            result.CpuPerPollSec = corrected / result.Polls;
            result.UserPerPollSec = user * scale / result.Polls;
            result.SysPerPollSec = sys * scale / result.Polls;
        }
        return result;
    }

    private static void Track(PollMeasurement r, ProcSample s)
    {
        r.ThreadsMin = Math.Min(r.ThreadsMin, s.Threads);
        r.ThreadsMax = Math.Max(r.ThreadsMax, s.Threads);
    }

    /// <summary>CPU one /metrics scrape costs the collector (least of three bursts of 5, so a poll landing in one burst does not count).</summary>
    private static async Task<double> ScrapeCostAsync(CollectorProcess collector, CancellationToken ct)
    {
        double best = double.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var a = collector.Sample();
            for (int i = 0; i < 5; i++) await collector.Metrics.TryScrapeAsync(ct);
            var b = collector.Sample();
            if (a == null || b == null) return 0;
            best = Math.Min(best, ProcSample.CpuBetween(a.Value, b.Value).TotalSec / 5);
        }
        return best == double.MaxValue ? 0 : best;
    }
}
