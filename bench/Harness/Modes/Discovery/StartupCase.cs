using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// Issue 19's start-up goal: the collector (defaults, jsonl to a file) starts on --startup-ns namespaces x
/// (--startup-listeners + 2 x --startup-conns) sockets that already exist. Every socket must be in a record by
/// the 3rd poll (each namespace has a poll among the first three with all of its sockets), and no poll after
/// the first may miss its deadline (xtcp_polls_total{outcome="timeout"} and the "poll N timed out" log lines).
/// </summary>
internal sealed class StartupCase(HarnessContext c, DiscoverySetup s)
{
    private const int CompleteBy = 3;

    public async Task<ResultTable> RunAsync(Testbed bed, ResultTable goals, List<string> failures, List<string> notes)
    {
        string recordsPath = Path.Combine(c.OutDir, $"discovery-{c.RunId}-startup-records.jsonl");
        await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
        using var proc = CollectorProcess.Start(c.Collector, s.Collector(c, bed.WatchDir, "file:" + recordsPath, "jsonl", null), c.LogPrefix("startup"));
        Console.Error.WriteLine($"harness: startup: {proc.CommandLine}");
        var trail = new PollTrail(proc, s.ScrapeEvery);
        string? error = await trail.WaitForAsync(s.StartupPolls, TimeSpan.FromSeconds(180) + s.StartupPolls * 3 * s.Frequency, c.Token)
            ? null : $"only {trail.Count} of {s.StartupPolls} polls";
        double firstPollSec = double.NaN;
        if (trail.After(1) is { } afterFirst) firstPollSec = (afterFirst.AtNs - proc.StartedNs) / 1e9;
        proc.StopAndCheck("startup", error, failures);

        var table = new ResultTable($"startup: the collector starts on {bed.Alive.Count} namespaces x {s.StartupSocketsPerNamespace} sockets ({bed.SocketsAlive:N0}) on the shared host table, defaults (--walk-interval {s.DefaultWalkIntervalText}), --frequency {HarnessOptions.Format(s.Frequency)}, --timeout {HarnessOptions.Format(s.Timeout)}, jsonl to a file",
            "poll", "wall ms", "timed out", "walks first", "deferred", "unknown", "interval", "deferrals", "namespaces in it", "complete in it", "complete so far", "sockets in it");
        var log = File.Exists(recordsPath) ? RecordLog.Read(recordsPath) : null;
        if (log == null) { failures.Add($"startup: no records file {recordsPath}"); return table; }
        var timedOut = proc.TimedOutPolls();
        var polls = log.Polls.Keys.Take(s.StartupPolls).ToList();
        var completeSoFar = new HashSet<string>(StringComparer.Ordinal);
        int completeByGoal = -1, firstWholePicture = 0, lateTimeouts = 0;
        long total = bed.SocketsAlive;
        for (int k = 1; k <= polls.Count; k++)
        {
            var seen = log.Polls[polls[k - 1]];
            int present = 0, complete = 0;
            long sockets = 0;
            foreach (var ns in bed.Alive)
            {
                int records = seen.Names.GetValueOrDefault(ns.Name);
                if (records > 0) present++;
                sockets += Math.Min(records, ns.Sockets);
                if (records < ns.Sockets) continue;
                complete++;
                completeSoFar.Add(ns.Name);
            }
            if (k == CompleteBy) completeByGoal = completeSoFar.Count;
            if (firstWholePicture == 0 && complete == bed.Alive.Count) firstWholePicture = k;
            bool late = timedOut.Contains(polls[k - 1]) || trail.InPoll(k, "xtcp_polls_total", "outcome", "timeout") > 0;
            if (late && k > 1) lateTimeouts++;
            table.Add(k.ToString(), Fmt.Ms(trail.After(k)?.Get("xtcp_last_poll_duration_seconds") ?? double.NaN), late ? "yes" : "no",
                Fmt.Num(trail.InPoll(k, "xtcp_walks_total", "reason", "first")), Fmt.Num(trail.InPoll(k, "xtcp_walks_total", "reason", "deferred")),
                Fmt.Num(trail.InPoll(k, "xtcp_walks_total", "reason", "unknown")), Fmt.Num(trail.InPoll(k, "xtcp_walks_total", "reason", "interval")),
                Fmt.Num(trail.InPoll(k, "xtcp_walk_deferrals_total")), $"{present}/{bed.Alive.Count}", $"{complete}", $"{completeSoFar.Count}/{bed.Alive.Count}",
                $"{sockets:N0}/{total:N0} ({Fmt.Pct(sockets / (double)total, 1)})");
        }
        goals.AddGoal($"startup: every socket in a record by poll {CompleteBy} (each namespace complete in one of the first {CompleteBy} polls)",
            $"{Math.Max(0, completeByGoal)}/{bed.Alive.Count} namespaces; the first poll with every socket: {(firstWholePicture == 0 ? $"none of the first {polls.Count}" : firstWholePicture.ToString())}",
            completeByGoal == bed.Alive.Count, failures);
        goals.AddGoal("startup: no poll after the first missed its deadline", $"{lateTimeouts} of polls 2..{polls.Count} timed out", polls.Count >= CompleteBy && lateTimeouts == 0, failures);
        notes.Add($"startup: population made before the collector starts; first poll ended {Fmt.Sec(firstPollSec)} s after the collector started. Per poll from the jsonl records (namespace name -> record count; a namespace is complete in a poll when it has a record per socket: {s.StartupListeners} listener(s) + {s.StartupConnections} connections x 2, no TIME_WAIT) and from /metrics scraped after each poll (walks by reason, xtcp_walk_deferrals_total, xtcp_last_poll_duration_seconds); timed out = xtcp_polls_total{{outcome=\"timeout\"}} grew in that poll or its \"poll N timed out\" log line.");
        if (!s.KeepRecords && failures.Count == 0) File.Delete(recordsPath);
        return table;
    }
}
