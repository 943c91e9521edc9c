using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// Watches a running collector through /proc and /metrics in three steps:
/// 1. start-up: time to the first poll; warm-up: at least <see cref="MinWarmup"/> and `warmup` polls (tiered JIT);
/// 2. CPU window: starts right after a poll ends and lasts K poll periods with NO /metrics scrape inside
///    (a scrape costs the collector 10-25 ms of CPU, as much as a whole small poll), so the CPU between the two
///    /proc samples is exactly the polls' plus idle; the poll count comes from scrapes just outside the window;
/// 3. per-poll window: K more polls with a scrape every half period for each poll's duration and socket count.
/// /proc (threads, fds, RSS) is sampled throughout; that costs the collector nothing.
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

        var half = TimeSpan.FromMilliseconds(Math.Max(50, frequency.TotalMilliseconds / 2));
        long warmUntil = collector.StartedNs + (long)MinWarmup.TotalMilliseconds * 1_000_000;
        var warm = await collector.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) >= warmup && m.AtNs >= warmUntil, half,
            startLimit + MinWarmup + warmup * frequency * 3, ct);
        if (warm == null) { result.Error = "collector stopped during warm-up"; return result; }

        // Step 2: align on the end of a poll, then K periods without scrapes.
        double warmCount = CollectorProcess.AllPolls(warm);
        var eighth = TimeSpan.FromMilliseconds(Math.Max(25, frequency.TotalMilliseconds / 8));
        var aligned = await collector.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) > warmCount, eighth, 4 * frequency + TimeSpan.FromSeconds(30), ct);
        var a = collector.Sample();
        if (aligned == null || a == null) { result.Error = "no poll after warm-up"; return result; }
        Track(result, a.Value);
        // Polls longer than the period (ticks skipped) stretch the window so it still holds about K polls.
        double lastPoll = aligned.Get("xtcp_last_poll_duration_seconds");
        var period = double.IsNaN(lastPoll) || lastPoll * 1.1 < frequency.TotalSeconds ? frequency : TimeSpan.FromSeconds(Math.Ceiling(lastPoll * 1.1 / frequency.TotalSeconds) * frequency.TotalSeconds);
        var windowEnd = DateTime.UtcNow + polls * period + half;
        while (DateTime.UtcNow < windowEnd && !collector.HasExited)
        {
            var left = windowEnd - DateTime.UtcNow;
            await Task.Delay(left < half ? left : half, ct);
            if (collector.Sample() is { } s) Track(result, s);
        }
        var b = collector.Sample();
        var afterWindow = await collector.Metrics.TryScrapeAsync(ct);
        if (b == null || afterWindow == null) { result.Error = "collector stopped during the CPU window"; return result; }
        result.Polls = (int)(CollectorProcess.AllPolls(afterWindow) - CollectorProcess.AllPolls(aligned));
        result.WindowStart = aligned;
        result.WindowEnd = afterWindow;
        result.TimeoutPolls = (int)(afterWindow.GetOrZero("xtcp_polls_total", "outcome", "timeout") - aligned.GetOrZero("xtcp_polls_total", "outcome", "timeout"));
        double histCount = afterWindow.GetOrZero("xtcp_poll_duration_seconds_count") - aligned.GetOrZero("xtcp_poll_duration_seconds_count");
        result.PollMeanSec = histCount > 0 ? (afterWindow.GetOrZero("xtcp_poll_duration_seconds_sum") - aligned.GetOrZero("xtcp_poll_duration_seconds_sum")) / histCount : double.NaN;
        if (result.Polls <= 0) { result.Error = "no poll completed in the CPU window"; return result; }
        var (total, user, sys) = ProcSample.CpuBetween(a.Value, b.Value);
        result.CpuPerPollSec = total / result.Polls;
        result.UserPerPollSec = user / result.Polls;
        result.SysPerPollSec = sys / result.Polls;
        result.OpenFds = b.Value.OpenFds;
        result.RssKb = b.Value.RssKb;

        // Step 3: each poll's duration and socket count from the per-poll gauges.
        double lastCount = CollectorProcess.AllPolls(afterWindow), target = lastCount + polls;
        MetricsSnapshot last = afterWindow;
        var limit = DateTime.UtcNow + (polls + 2) * 2 * period + TimeSpan.FromSeconds(30);
        while (lastCount < target)
        {
            if (DateTime.UtcNow > limit || collector.HasExited) { result.Error = $"only {lastCount - (target - polls)} of {polls} polls in the per-poll window"; break; }
            // Through the last poll's period, sample the host namespace every 100 ms: its socket count is
            // judged against what ss saw around the poll, not seconds later.
            bool lastPeriod = lastCount >= target - 1;
            await Task.Delay(lastPeriod ? TimeSpan.FromMilliseconds(Math.Min(100, half.TotalMilliseconds)) : half, ct);
            if (lastPeriod) SampleHost(result);
            var m = await collector.Metrics.TryScrapeAsync(ct);
            if (collector.Sample() is { } s) Track(result, s);
            if (m == null) continue;
            double count = CollectorProcess.AllPolls(m);
            if (count > lastCount)
            {
                result.PollDurationsSec.Add(m.Get("xtcp_last_poll_duration_seconds"));
                lastCount = count;
                last = m;
                if (count >= target) SampleHost(result);
            }
        }
        result.TimeoutPolls += (int)(last.GetOrZero("xtcp_polls_total", "outcome", "timeout") - afterWindow.GetOrZero("xtcp_polls_total", "outcome", "timeout"));
        result.SocketsPerPoll = last.Get("xtcp_last_poll_sockets");
        result.NamespacesPerPoll = last.Get("xtcp_last_poll_namespaces");
        result.NamespacesOpen = last.Get("xtcp_namespaces_open");
        result.SharingHostTable = last.Get("xtcp_namespaces_sharing_host_table");
        return result;
    }

    private static void SampleHost(PollMeasurement r)
    {
        int stable = ChildCommand.CountSockets(null, excludeTimeWait: true), all = ChildCommand.CountSockets(null);
        r.HostStableMin = r.HostStableMin < 0 ? stable : Math.Min(r.HostStableMin, stable);
        r.HostMax = Math.Max(r.HostMax, all);
    }

    private static void Track(PollMeasurement r, ProcSample s)
    {
        r.ThreadsMin = Math.Min(r.ThreadsMin, s.Threads);
        r.ThreadsMax = Math.Max(r.ThreadsMax, s.Threads);
        r.RssKb = Math.Max(r.RssKb, s.RssKb);
    }
}
