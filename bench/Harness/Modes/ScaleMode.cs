using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// Sweeps namespace counts (the population grows between steps, it is never rebuilt), starts a fresh collector
/// with `--dest null` per step and measures warm-up + K polls: threads, fds, RSS, CPU per poll and per
/// socket, poll duration, sockets per poll against what exists, time to the first poll.
/// </summary>
internal sealed class ScaleMode(HarnessContext c)
{
    private const int ThreadGoal = 24;
    private const double UserUsPerSocketGoal = 0.5;
    private const double RssGoalMb = 80;
    private const int CpuPerSocketMinSockets = 10_000; // below this, fixed per-poll costs dominate the per-socket figure

    public async Task<bool> RunAsync()
    {
        int[] sweep = c.Options.IntList("ns", new[] { 1, 10, 100, 1000, 2000 });
        int polls = c.Options.Int("polls", 5), warmup = c.Options.Int("warmup", 1);
        int conns = c.Options.Int("conns", 10), listeners = c.Options.Int("listeners", 1);
        string? request = c.Options.String("request");
        var fixedFrequency = c.Options.String("frequency") != null ? c.Options.Duration("frequency", default) : (TimeSpan?)null;
        string svgPath = c.Options.String("svg") ?? Path.Combine(c.RepoRoot, "design", "perf-scale.svg");
        c.Options.RejectUnknown();
        Array.Sort(sweep);

        var table = new ResultTable($"scale: {conns} connections ({listeners + 2 * conns} sockets) per namespace, {polls} polls after {warmup} warm-up, dest null{(request != null ? ", request " + request : "")}",
            "namespaces", "sockets created", "host sockets", "sockets/poll", "sockets ok", "threads", "threads<=24", "fds", "RSS MB", "RSS<=80MB",
            "CPU ms/poll", "user ms/poll", "sys ms/poll", "user us/socket", "user<=0.5us", "user/sys per socket", "poll p50 ms", "poll p99 ms", "poll<1s@1000",
            "first poll s", "timeouts", "xtcp2 threads");
        var failures = new List<string>();
        var chart = new List<(int, int, double)>();
        var threadCounts = new List<int>();
        string collector = c.Collector;
        using var bed = new Testbed("scale");
        foreach (int n in sweep)
        {
            c.Token.ThrowIfCancellationRequested();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            if (bed.Alive.Count < n) await bed.AddAsync(n - bed.Alive.Count, listeners, conns, c.Token);
            Console.Error.WriteLine($"harness: {n} namespaces with {bed.SocketsAlive} sockets ready in {sw.Elapsed.TotalSeconds:F1} s over {bed.HolderCount} holder(s)");
            // Deleted namespaces of an earlier run are torn down by kernel workers; keep that out of the window.
            await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
            var frequency = fixedFrequency ?? FrequencyFor(n);
            var settings = new CollectorSettings
            {
                NetnsDir = bed.WatchDir, Frequency = frequency, Timeout = frequency * 0.8, Workers = c.Workers, Extra = c.CollectorArgs, Request = request,
            };
            using var proc = CollectorProcess.Start(collector, settings, c.LogPrefix($"ns{n}"));
            Console.Error.WriteLine($"harness: {proc.CommandLine}");
            var m = await PollMeter.MeasureAsync(proc, warmup, polls, frequency, c.Token);
            int host = m.HostMax >= 0 ? m.HostMax : ChildCommand.CountSockets(null);
            int hostStable = m.HostStableMin >= 0 ? m.HostStableMin : ChildCommand.CountSockets(null, excludeTimeWait: true);
            proc.StopAndCheck($"{n} ns", m.Error, failures);

            int created = bed.SocketsAlive;
            // The collector also dumps its own (host) namespace, whose sockets ss counts right after the window;
            // host TIME_WAIT sockets (closed scrape connections) come and go, so they only widen the upper bound.
            bool? socketsOk = double.IsNaN(m.SocketsPerPoll) ? null
                : m.SocketsPerPoll >= created + hostStable - 2 && m.SocketsPerPoll <= created + host + UpperSlack(listeners, conns);
            bool? threadsOk = m.ThreadsMax == 0 ? null : m.ThreadsMax <= ThreadGoal;
            bool? rssOk = n <= 1000 && m.RssKb > 0 ? m.RssKb / 1024.0 <= RssGoalMb : null;
            double userPerSocket = m.UserPerPollSec / m.SocketsPerPoll;
            double sysPerSocket = m.SysPerPollSec / m.SocketsPerPoll;
            bool? cpuOk = m.SocketsPerPoll >= CpuPerSocketMinSockets && !double.IsNaN(userPerSocket)
                ? userPerSocket * 1e6 <= UserUsPerSocketGoal && userPerSocket <= 0.25 * sysPerSocket : null;
            bool? pollOk = n == 1000 && conns == 10 && !double.IsNaN(m.PollP99) ? m.PollP99 < 1.0 : null;
            foreach (var (ok, what) in new[] { (socketsOk, "sockets per poll"), (threadsOk, "threads <= 24"), (rssOk, "RSS <= 80 MB"), (cpuOk, "user CPU per socket"), (pollOk, "poll < 1 s") })
                if (ok == false) failures.Add($"{n} ns: goal missed: {what}");
            if (m.ThreadsMax > 0) threadCounts.Add(m.ThreadsMax);

            table.Add(n.ToString(), created.ToString(), hostStable == host ? host.ToString() : $"{hostStable}-{host}", Fmt.Num(m.SocketsPerPoll), Fmt.Verdict(socketsOk),
                m.ThreadsMax == 0 ? "n/a" : m.ThreadsMax.ToString(), Fmt.Verdict(threadsOk), m.OpenFds == 0 ? "n/a" : m.OpenFds.ToString(), m.RssKb == 0 ? "n/a" : Fmt.Mb(m.RssKb), Fmt.Verdict(rssOk),
                Fmt.Ms(m.CpuPerPollSec), Fmt.Ms(m.UserPerPollSec), Fmt.Ms(m.SysPerPollSec), Fmt.Us(userPerSocket), Fmt.Verdict(cpuOk),
                Fmt.Pct(userPerSocket / sysPerSocket), Fmt.Ms(m.PollP50), Fmt.Ms(m.PollP99), Fmt.Verdict(pollOk),
                Fmt.Sec(m.FirstPollSec), m.TimeoutPolls.ToString(), Anchors.Xtcp2Threads(n) > 2000 ? "crash (>2000)" : Anchors.Xtcp2Threads(n).ToString());
            chart.Add((n, m.ThreadsMax, m.PollP50 * 1000));
            if (m.FirstPollSec is double.NaN && m.Error != null && m.Error.Contains("exited", StringComparison.Ordinal))
            {
                failures.Add("the collector does not start; sweep stopped");
                break;
            }
            Console.Error.WriteLine($"harness: {n} ns measured: threads {m.ThreadsMax}, poll p50 {Fmt.Ms(m.PollP50)} ms, sockets/poll {Fmt.Num(m.SocketsPerPoll)} (created {created} + host {hostStable}..{host})");
        }
        bool flat = threadCounts.Count > 0 && threadCounts.Max() - threadCounts.Min() <= 2;
        if (threadCounts.Count > 1 && !flat) failures.Add($"thread count not constant across the sweep: {string.Join(", ", threadCounts)}");

        table.Print(Console.Out);
        var notes = new List<string>
        {
            $"Threads constant across the sweep (max - min <= 2): {Fmt.Verdict(threadCounts.Count > 1 ? flat : null)} ({string.Join(", ", threadCounts)}).",
            "CPU is the collector's own (schedstat over its threads, split user/sys by utime/stime ticks) over K poll periods that start right after a poll ends and contain no /metrics scrape, divided by the polls completed in them; it includes the idle time between polls. Poll p50/p99 come from xtcp_last_poll_duration_seconds read after each of K further polls.",
            $"sockets/poll = xtcp_last_poll_sockets; it must equal sockets created + the host namespace's sockets (ss -tan every 100 ms through the measured poll's period: other processes open and close host sockets, and TIME_WAIT sockets come and go, so the check accepts from created + the lowest host count without TIME_WAIT - 2 up to created + the highest with TIME_WAIT + one namespace's sockets - 1). user us/socket is judged only from {CpuPerSocketMinSockets:N0} sockets per poll up (below, fixed per-poll costs dominate); its goal also needs user < 25 % of sys per socket.",
            "Poll frequency: 1 s up to 200 namespaces, then namespaces x 5 ms rounded up to whole seconds (timeout 0.8 x frequency) unless --frequency is given.",
        };
        notes.AddRange(Anchors.Lines);
        foreach (var n in notes) Console.WriteLine("note: " + n);
        string csv = Path.Combine(c.OutDir, $"scale-{c.RunId}.csv");
        table.WriteCsv(csv);
        Console.WriteLine($"CSV: {csv}");
        if (c.WriteReport)
        {
            ScaleChart.Write(svgPath, chart, $"xtcp-epoll scale sweep ({listeners + 2 * conns} sockets per namespace, {Environment.ProcessorCount} cores)");
            Console.WriteLine($"SVG: {svgPath}");
            Console.WriteLine($"markdown: {ResultsMarkdown.Write(c.OutDir, "scale", c.CommandLine, new[] { table }, notes)}");
        }
        return c.Verdict(failures);
    }

    /// <summary>
    /// Host TIME_WAIT sockets seen by the poll may have expired by the time ss counts them; a double-counted
    /// namespace would add a whole namespace's sockets, so anything below that is tolerated above the count.
    /// </summary>
    private static int UpperSlack(int listeners, int conns) => Math.Max(2, listeners + 2 * conns - 1);

    /// <summary>
    /// Long enough for a poll to finish (~3.5 ms of kernel CPU per namespace on a shared table at 1,000 x 21
    /// sockets, 2 cores), so the socket check sees whole polls and the wall time is not cut by the timeout.
    /// </summary>
    private static TimeSpan FrequencyFor(int namespaces) =>
        namespaces <= 200 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Ceiling(namespaces * 5 / 1000.0));
}
