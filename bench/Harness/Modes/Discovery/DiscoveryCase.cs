using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// Issue 19's discovery goal: once the collector is past its start-up, right after a poll ends, one new
/// long-lived connection opens in each of --share % of the namespaces; both sockets of every one must be in
/// the next poll's records (>= 99.9 %) and in the poll after (100 %). --rounds bursts, each judged over the two
/// polls after it, from the collector's jsonl output matched by namespace and ports.
/// </summary>
internal sealed class DiscoveryCase(HarnessContext c, DiscoverySetup s)
{
    private const double NextPollGoal = 0.999;

    public async Task<ResultTable> RunAsync(Testbed bed, ResultTable goals, List<string> failures, List<string> notes)
    {
        string recordsPath = Path.Combine(c.OutDir, $"discovery-{c.RunId}-records.jsonl");
        await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
        using var proc = CollectorProcess.Start(c.Collector, s.Collector(c, bed.WatchDir, "file:" + recordsPath, "jsonl", null), c.LogPrefix("discovery"));
        Console.Error.WriteLine($"harness: discovery: {proc.CommandLine}");
        var trail = new PollTrail(proc, s.ScrapeEvery);
        var opener = new ConnectionOpener(bed, s.SharePct, s.Seed);
        var bursts = new List<ConnectionOpener.Burst>();
        string? error = null;
        int settled = await Settling.WaitAsync(trail, bed.Alive.Count, bed.SocketsAlive, 20, s.Frequency, c.Token);
        if (settled < 0) error = $"no poll among the first {trail.Count} reported every socket of the testbed ({bed.SocketsAlive}): start-up never ended";
        else
        {
            Console.Error.WriteLine($"harness: discovery: start-up over at poll {settled}; {s.Rounds} burst(s) of {opener.NamespacesPerBurst} new connections");
            var perPoll = TimeSpan.FromSeconds(60) + 3 * s.Frequency;
            for (int r = 0; r < s.Rounds && error == null; r++)
            {
                // A poll has just ended (the trail saw it within --frequency/20): open now, well before the next tick.
                int before = trail.Count;
                var burst = await opener.OpenAsync();
                bursts.Add(burst);
                Console.Error.WriteLine($"harness: discovery: burst {r + 1}: {burst.Made.Count} connections open in {(burst.ReadyNs - burst.StartNs) / 1e6:F1} ms after poll {before}");
                // The next poll and the one after, plus one: a burst that straddled a tick is judged one poll later.
                if (!await trail.WaitForAsync(before + 3, 3 * perPoll, c.Token)) error = $"the collector stopped polling after poll {trail.Count}";
            }
        }
        proc.StopAndCheck("discovery", error, failures);

        var watch = new SocketWatch();
        foreach (var b in bursts)
            foreach (var (ns, conn) in b.Made) { watch.Add(ns.Name, conn.ClientPort, conn.ServerPort); watch.Add(ns.Name, conn.ServerPort, conn.ClientPort); }
        var log = File.Exists(recordsPath) ? RecordLog.Read(recordsPath, watch) : null;
        if (log == null) failures.Add($"discovery: no records file {recordsPath}");
        var timedOut = proc.TimedOutPolls();
        var table = new ResultTable($"discovery: {bed.Alive.Count} namespaces on the shared host table, one new connection in {opener.NamespacesPerBurst} of them right after a poll, defaults (--walk-interval {s.DefaultWalkIntervalText}), --frequency {HarnessOptions.Format(s.Frequency)}, jsonl to a file",
            "burst", "connections (sockets)", "open ms", "next poll #", "opened between polls", "namespaces in it", "in next poll", "in the poll after", "first seen +1/+2/+3/later/never",
            "unknown walks", "deferred walks", "deferrals", "lookups", "poll wall ms", "timed out");
        long sockets = 0, inNext = 0, inAfter = 0;
        int missingExamples = 0;
        var polls = log?.Polls.Keys.ToList() ?? [];
        for (int i = 0; i < bursts.Count && log != null; i++)
        {
            var b = bursts[i];
            int next = polls.FindIndex(t => t >= b.ReadyNs);
            if (next < 0 || next + 1 >= polls.Count) { failures.Add($"discovery: burst {i + 1}: the records hold no two polls after it"); continue; }
            long nextTs = polls[next], afterTs = polls[next + 1];
            bool between = next == 0 || polls[next - 1] < b.StartNs;
            var firstSeen = new int[5]; // +1, +2, +3, later, never
            int seenNext = 0, seenAfter = 0;
            foreach (var (ns, conn) in b.Made)
                foreach (var (src, dst) in new[] { (conn.ClientPort, conn.ServerPort), (conn.ServerPort, conn.ClientPort) })
                {
                    bool inNextPoll = watch.SeenIn(ns.Name, src, dst, nextTs);
                    if (inNextPoll) seenNext++;
                    if (watch.SeenIn(ns.Name, src, dst, afterTs)) seenAfter++;
                    long first = watch.FirstSeen(ns.Name, src, dst, b.StartNs);
                    int late = first == 0 ? 4 : Math.Clamp(polls.BinarySearch(first) - next, 0, 3);
                    firstSeen[late]++;
                    if (!inNextPoll && missingExamples++ < 5)
                            failures.Add($"discovery: missing from the next poll: {ns.Name} IPv{conn.Family} {src} -> {dst} (burst {i + 1}, opened before poll {nextTs}; first seen {(first == 0 ? "never" : first.ToString(System.Globalization.CultureInfo.InvariantCulture))})");
                }
            sockets += b.Sockets; inNext += seenNext; inAfter += seenAfter;
            int pollNo = next + 1; // the log's polls in order are the collector's polls 1, 2, ... (the host namespace always has records)
            int namespacesIn = bed.Alive.Count(ns => log.Polls[nextTs].Names.ContainsKey(ns.Name));
            table.Add((i + 1).ToString(), $"{b.Made.Count} ({b.Sockets})", Fmt.Num((b.ReadyNs - b.StartNs) / 1e6, 1), pollNo.ToString(), between ? "yes" : "no (straddled a tick)",
                $"{namespacesIn}/{bed.Alive.Count}", $"{seenNext}/{b.Sockets}", $"{seenAfter}/{b.Sockets}", string.Join('/', firstSeen),
                Fmt.Num(trail.InPoll(pollNo, "xtcp_walks_total", "reason", "unknown")), Fmt.Num(trail.InPoll(pollNo, "xtcp_walks_total", "reason", "deferred")),
                Fmt.Num(trail.InPoll(pollNo, "xtcp_walk_deferrals_total")),
                Fmt.Num(trail.InPoll(pollNo, "xtcp_lookups_total", "outcome", "found") + trail.InPoll(pollNo, "xtcp_lookups_total", "outcome", "missing")),
                Fmt.Ms(trail.After(pollNo)?.Get("xtcp_last_poll_duration_seconds") ?? double.NaN), timedOut.Contains(nextTs) || timedOut.Contains(afterTs) ? "yes" : "no");
        }
        double shareNext = sockets > 0 ? inNext / (double)sockets : double.NaN, shareAfter = sockets > 0 ? inAfter / (double)sockets : double.NaN;
        goals.AddGoal($"discovery: new connections' sockets in the next poll's records >= {Fmt.Pct(NextPollGoal, 1)}", $"{inNext}/{sockets} ({Fmt.Pct(shareNext, 2)}) over {bursts.Count} burst(s)",
            sockets > 0 && shareNext >= NextPollGoal, failures);
        goals.AddGoal("discovery: ... and in the poll after = 100 %", $"{inAfter}/{sockets} ({Fmt.Pct(shareAfter, 2)})", sockets > 0 && inAfter == sockets, failures);
        notes.Add($"discovery: after start-up (poll {settled}: every namespace open, every socket of the testbed reported), {s.Rounds} burst(s), each right after the harness saw a poll end (scrapes every {s.ScrapeEvery.TotalMilliseconds:F0} ms): one connection per chosen namespace (random, IPv4 or IPv6 at random), kept open. " +
            "A burst is judged on the first poll whose timestamp (its start) is after the last connection was open, and the poll after; a socket counts when a record of that poll has its namespace and source/destination ports (client -> listener and the accepted socket). " +
            "Walks, deferrals, lookups, wall: the collector's counters over that next poll (scraped after each poll).");
        if (log != null) notes.Add($"discovery: {log.Records:N0} records read ({log.DestroyRecords:N0} destroy records, in no poll) from {recordsPath}{(trail.Merged > 0 ? $"; {trail.Merged} poll end(s) not seen alone by the scrapes (their counters show as n/a)" : "")}.");
        if (!s.KeepRecords && failures.Count == 0) File.Delete(recordsPath);
        return table;
    }
}
