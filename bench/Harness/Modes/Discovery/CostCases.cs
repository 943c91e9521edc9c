using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// Issue 19's cost goals, one population, collector runs in a row (--dest null): (1) --walk-interval 0, every
/// namespace walks at every poll; (2) the defaults on the idle population: kernel CPU per poll <= 5 % of (1),
/// poll wall p50 <= --p50-goal; (3) the defaults while --share % of the namespaces open a new connection every
/// poll: <= 15 % of (1). The CPU windows of (2) and (3) span one whole --walk-interval, so every namespace's
/// staggered interval walk is in them. Peer: `ss -tin` in one namespace, timed in the same run.
/// </summary>
internal sealed class CostCases(HarnessContext c, DiscoverySetup s)
{
    private const double IdleGoal = 0.05, ChurningGoal = 0.15;
    private static readonly string[] OtherWalkReasons = ["first", "retry", "destroy_overflow", "own_table", "dense", "lookup_miss", "unreachable", "unknown_listeners"];

    private sealed record Row(string Label, string WalkInterval, string Period, PollMeasurement M, bool? SocketsOk, int SettledAt, int Bursts, int NewSockets);

    public async Task<List<ResultTable>> RunAsync(Testbed bed, ResultTable goals, List<string> failures, List<string> notes)
    {
        var peer = MeasureSsPeer(bed);
        var rows = new List<Row>();
        rows.Add(await MeasureAsync(bed, "(1) every poll walks", "0", s.ZeroPolls, churn: false, failures));
        if (s.Cases.Contains("cost")) rows.Add(await MeasureAsync(bed, "(2) defaults, idle", null, s.CpuPolls, churn: false, failures));
        if (s.Cases.Contains("churning")) rows.Add(await MeasureAsync(bed, $"(3) defaults, {s.SharePct} % of namespaces open a connection every poll", null, s.CpuPolls, churn: true, failures));

        var table = new ResultTable($"cost: {s.Namespaces} namespaces x {s.SocketsPerNamespace} sockets on the shared host table, dest null",
            "case", "--walk-interval", "--frequency / --timeout", "start-up polls", "CPU window polls", "sys ms/poll", "user ms/poll", "sys vs (1)", "poll wall p50 ms", "p99 ms",
            "walks/poll unknown", "interval", "deferred", "other", "deferrals/poll", "lookups/poll", "new sockets", "sockets/poll", "sockets ok", "timeouts", "threads", "fds", "RSS MB");
        var zero = rows[0].M;
        foreach (var r in rows)
        {
            var m = r.M;
            table.Add(r.Label, r.WalkInterval, r.Period, r.SettledAt < 0 ? "never settled" : r.SettledAt.ToString(), m.Polls.ToString(), Fmt.Ms(m.SysPerPollSec), Fmt.Ms(m.UserPerPollSec),
                Fmt.Pct(m.SysPerPollSec / zero.SysPerPollSec, 1), Fmt.Ms(m.PollP50), Fmt.Ms(m.PollP99),
                Fmt.Num(m.PerPollInWindow("xtcp_walks_total", "reason", "unknown"), 1), Fmt.Num(m.PerPollInWindow("xtcp_walks_total", "reason", "interval"), 1),
                Fmt.Num(m.PerPollInWindow("xtcp_walks_total", "reason", "deferred"), 1), Fmt.Num(OtherWalkReasons.Sum(x => m.PerPollInWindow("xtcp_walks_total", "reason", x)), 1),
                Fmt.Num(m.PerPollInWindow("xtcp_walk_deferrals_total"), 1),
                Fmt.Num(m.PerPollInWindow("xtcp_lookups_total", "outcome", "found") + m.PerPollInWindow("xtcp_lookups_total", "outcome", "missing")),
                r.Bursts == 0 ? "-" : $"{r.NewSockets} in {r.Bursts} bursts", Fmt.Num(m.SocketsPerPoll), Fmt.Verdict(r.SocketsOk), m.TimeoutPolls.ToString(),
                m.ThreadsMax.ToString(), m.OpenFds.ToString(), m.RssKb == 0 ? "n/a" : Fmt.Mb(m.RssKb));
            if (r.SocketsOk == false) failures.Add($"cost {r.Label}: sockets per poll {Fmt.Num(m.SocketsPerPoll)} is not every socket of the testbed + the host's");
        }
        double zeroDeferrals = zero.PerPollInWindow("xtcp_walk_deferrals_total");
        goals.AddGoal("cost (1): every poll complete, no walk deferred (else its CPU per poll understates walking everything)",
            $"{zero.TimeoutPolls} timed out, {Fmt.Num(zeroDeferrals, 1)} deferrals/poll, sockets/poll {Fmt.Num(zero.SocketsPerPoll)}", zero.TimeoutPolls == 0 && zeroDeferrals == 0, failures);
        foreach (var r in rows.Skip(1))
        {
            bool churning = r.Bursts > 0;
            double goal = churning ? ChurningGoal : IdleGoal;
            goals.AddGoal($"cost {r.Label[..3]}: kernel CPU per poll <= {Fmt.Pct(goal)} of (1) --walk-interval 0",
                $"{Fmt.Ms(r.M.SysPerPollSec)} / {Fmt.Ms(zero.SysPerPollSec)} ms = {Fmt.Pct(r.M.SysPerPollSec / zero.SysPerPollSec, 1)}", r.M.SysPerPollSec <= goal * zero.SysPerPollSec, failures);
            if (!churning)
                goals.AddGoal($"cost {r.Label[..3]}: poll wall p50 <= {s.P50Goal.TotalMilliseconds:F0} ms", $"{Fmt.Ms(r.M.PollP50)} ms (p99 {Fmt.Ms(r.M.PollP99)})", r.M.PollP50 <= s.P50Goal.TotalSeconds, failures);
            goals.AddGoal($"cost {r.Label[..3]}: no poll timed out", $"{r.M.TimeoutPolls} of {r.M.Polls + r.M.PollDurationsSec.Count}", r.M.TimeoutPolls == 0, failures);
        }

        var peers = new ResultTable("peer: `ss -tin` in one namespace of the same population (nsenter + ss, less nsenter alone; mean of the runs) against the collector's kernel CPU per namespace per poll",
            "what", "sys ms", "wall ms", "vs ss -tin in one namespace (sys)");
        peers.Add($"ss -tin, one namespace ({peer.Runs} runs)", Fmt.Ms(peer.Sys), Fmt.Ms(peer.Wall), "1.00x");
        foreach (var r in rows)
        {
            double perNs = r.M.SysPerPollSec / s.Namespaces;
            peers.Add($"collector {r.Label[..3]}, per namespace per poll", Fmt.Num(perNs * 1000, 4), "-", Fmt.Num(perNs / peer.Sys, 4) + "x");
        }
        notes.Add($"cost (1) polls every {HarnessOptions.Format(s.ZeroFrequency)} (--zero-frequency, timeout 90 % of it), the others every {HarnessOptions.Format(s.Frequency)}: walking every namespace must finish within the poll for its CPU per poll to be the whole work (a poll cut at its deadline, or walks the budget defers, would understate the denominator); CPU per poll is per poll, whatever the period (the collector's idle CPU per second is a few ms).");
        notes.Add($"cost: one population, one collector run per case, in a row ({string.Join(", ", rows.Select(r => r.Label[..3]))}). Each run waits for the end of start-up (every namespace open and a poll, the 2nd or later, that reported every socket of the testbed: \"start-up polls\"), then PollMeter: warm-up, a CPU window without /metrics scrapes of {s.ZeroPolls} polls for (1) and {s.CpuPolls} for (2)/(3) (--walk-interval {s.DefaultWalkIntervalText} / --frequency, at most 12 unless --cpu-polls: the staggered interval walks spread evenly over the polls, so the window has their mean share), then as many polls scraped for the wall time (p50/p99).");
        notes.Add("cost: walks/poll by reason over the CPU window (xtcp_walks_total): unknown (counters above what lookups found), interval, deferred (a walk an earlier poll's budget put off), other = first + retry + destroy_overflow + own_table + dense + lookup_miss + unreachable + unknown_listeners; deferrals/poll: xtcp_walk_deferrals_total; lookups: xtcp_lookups_total.");
        if (s.Cases.Contains("churning"))
            notes.Add($"cost (3): a burst of one new connection in each of {Math.Max(1, (int)Math.Round(s.Namespaces * s.SharePct / 100.0))} random namespaces every --frequency, mid-period (they stay open: the population grows by that many x 2 sockets a poll over the run); sockets ok allows the last burst to fall after the last poll.");
        notes.Add($"peer: `ss -tin` run {peer.Runs} times in one namespace with nsenter ({Fmt.Ms(peer.SsSys)} ms sys, {Fmt.Ms(peer.SsWall)} ms wall each) less `nsenter true` ({Fmt.Ms(peer.NsenterSys)} ms sys, {Fmt.Ms(peer.NsenterWall)} ms wall): on the shared table its dump walks every socket of the host ({bed.SocketsAlive:N0} of the testbed) to find the namespace's {s.SocketsPerNamespace}. A collector per-namespace figure is its sys per poll / {s.Namespaces}.");
        return [table, peers];
    }

    private async Task<Row> MeasureAsync(Testbed bed, string label, string? walkInterval, int cpuPolls, bool churn, List<string> failures)
    {
        await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
        string tag = walkInterval == "0" ? "zero" : churn ? "churning" : "defaults";
        var settings = s.Collector(c, bed.WatchDir, "null", "protobufList", walkInterval);
        var frequency = settings.Frequency;
        using var proc = CollectorProcess.Start(c.Collector, settings, c.LogPrefix("cost-" + tag));
        Console.Error.WriteLine($"harness: cost {label}: {proc.CommandLine}");
        var trail = new PollTrail(proc, s.ScrapeEvery);
        int settled = await Settling.WaitAsync(trail, bed.Alive.Count, bed.SocketsAlive, walkInterval == "0" ? 5 : 20, frequency, c.Token);
        if (settled < 0) failures.Add($"cost {label}: no poll among the first {trail.Count} reported every socket of the testbed ({bed.SocketsAlive}): start-up did not end; measured anyway");
        using var stopChurn = CancellationTokenSource.CreateLinkedTokenSource(c.Token);
        int bursts = 0, newSockets = 0;
        var churner = churn ? Task.Run(async () =>
        {
            var opener = new ConnectionOpener(bed, s.SharePct, s.Seed + 1);
            // Mid-period: a poll has just ended (the trail saw it), so bursts land between polls.
            var next = DateTime.UtcNow + s.Frequency / 2;
            while (!stopChurn.IsCancellationRequested)
            {
                var wait = next - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, stopChurn.Token);
                var burst = await opener.OpenAsync();
                bursts++;
                newSockets += burst.Sockets;
                next += s.Frequency;
            }
        }) : Task.CompletedTask;
        PollMeasurement m;
        int burstSockets;
        try
        {
            m = await PollMeter.MeasureAsync(proc, Math.Max(1, trail.Count), cpuPolls, frequency, c.Token);
            burstSockets = 2 * Math.Max(1, (int)Math.Round(bed.Alive.Count * s.SharePct / 100.0));
        }
        finally
        {
            stopChurn.Cancel();
            try { await churner; } catch (OperationCanceledException) { }
        }
        proc.StopAndCheck($"cost {label}", m.Error, failures);
        int created = bed.SocketsAlive;
        // A timed-out poll is partial by design (and counted): its socket count is not judged.
        bool? ok = double.IsNaN(m.SocketsPerPoll) || m.HostStableMin < 0 || m.TimeoutPolls > 0 ? null
            : m.SocketsPerPoll >= created - (churn ? 2 * burstSockets : 0) + m.HostStableMin - 2 && m.SocketsPerPoll <= created + m.HostMax + 2;
        Console.Error.WriteLine($"harness: cost {label}: sys {Fmt.Ms(m.SysPerPollSec)} ms/poll, p50 {Fmt.Ms(m.PollP50)} ms, sockets/poll {Fmt.Num(m.SocketsPerPoll)} (testbed {created} + host {m.HostStableMin}..{m.HostMax})");
        return new Row(label, walkInterval ?? s.DefaultWalkIntervalText, $"{HarnessOptions.Format(frequency)} / {HarnessOptions.Format(settings.Timeout)}", m, ok, settled, bursts, newSockets);
    }

    private sealed record SsPeer(int Runs, double SsSys, double SsWall, double NsenterSys, double NsenterWall)
    {
        public double Sys => Math.Max(0, SsSys - NsenterSys);
        public double Wall => Math.Max(0, SsWall - NsenterWall);
    }

    /// <summary>`ss -tin` in the middle namespace, 20 times, and `nsenter true` as often (the process start-up to subtract).</summary>
    private static SsPeer MeasureSsPeer(Testbed bed)
    {
        const int runs = 20;
        string path = bed.Alive[bed.Alive.Count / 2].Path;
        var ss = ChildCommand.Time($"for i in $(seq {runs}); do nsenter --net={path} ss -tinH; done");
        var bare = ChildCommand.Time($"for i in $(seq {runs}); do nsenter --net={path} true; done");
        return new SsPeer(runs, ss.Sys / runs, ss.Wall / runs, bare.Sys / runs, bare.Wall / runs);
    }
}
