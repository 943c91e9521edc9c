using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// Churn soak: the collector starts on an empty watched directory (fd baseline), N namespaces with sockets
/// appear, then one is added and one deleted every interval for the duration while the collector polls every
/// second into a jsonl file; finally all namespaces go. Checks: no crash or restart, threads flat, fds back
/// to baseline, RSS growth after warm-up, and every namespace alive for a whole poll was collected in it.
/// </summary>
internal sealed class ChurnMode(HarnessContext c)
{
    private sealed record Sample(long AtNs, ProcSample Proc, string Phase);

    public async Task<bool> RunAsync()
    {
        int n = c.Options.Int("ns", 1000), conns = c.Options.Int("conns", 2), listeners = c.Options.Int("listeners", 1);
        var interval = c.Options.Duration("interval", TimeSpan.FromMilliseconds(100));
        var duration = c.Options.Duration("duration", TimeSpan.FromMinutes(10));
        var frequency = c.Options.Duration("frequency", TimeSpan.FromSeconds(1));
        var timeout = c.Options.Duration("timeout", TimeSpan.FromMilliseconds(800));
        var grace = c.Options.Duration("grace", TimeSpan.FromSeconds(1));
        bool keepRecords = c.Options.Flag("keep-records");
        int seed = c.Options.Int("seed", 42);
        c.Options.RejectUnknown();

        var failures = new List<string>();
        var samples = new List<Sample>();
        string recordsPath = Path.Combine(c.OutDir, $"churn-{c.RunId}-records.jsonl");
        string collectorBin = c.Collector;
        await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
        using var bed = new Testbed("churn");
        var settings = new CollectorSettings
        {
            NetnsDir = bed.WatchDir, Dest = "file:" + recordsPath, Marshal = "jsonl", Frequency = frequency, Timeout = timeout, Workers = c.Workers, Extra = c.CollectorArgs,
        };
        using var proc = CollectorProcess.Start(collectorBin, settings, c.LogPrefix("collector"));
        Console.Error.WriteLine($"harness: {proc.CommandLine}");
        string phase = "baseline";
        using var samplerStop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!samplerStop.IsCancellationRequested)
            {
                var s = proc.Sample();
                if (s != null) lock (samples) samples.Add(new Sample(s.Value.AtNs, s.Value, phase));
                try { await Task.Delay(TimeSpan.FromSeconds(1), samplerStop.Token); } catch (OperationCanceledException) { }
            }
        });

        long churnStartNs = 0, churnEndNs = 0;
        int baselineFds = -1, finalFds = -1, added = 0, deleted = 0;
        double baselineOpen = double.NaN;
        string pollOutcomes = "n/a";
        try
        {
            var first = await proc.WaitForMetricsAsync(m => CollectorProcess.CompletePolls(m) >= 2, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60), c.Token);
            if (first == null) throw new InvalidOperationException("collector made no complete poll on an empty directory within 60 s:\n" + proc.TailOfStderr(10));
            baselineFds = proc.Sample()?.OpenFds ?? -1;
            baselineOpen = first.GetOrZero("xtcp_namespaces_open");
            Console.Error.WriteLine($"harness: baseline {baselineFds} fds, namespaces_open {baselineOpen}; creating {n} namespaces");

            phase = "populate";
            await bed.AddAsync(n, listeners, conns, c.Token);
            phase = "warmup";
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, Math.Max(3, duration.TotalSeconds / 10))), c.Token);

            phase = "churn";
            churnStartNs = Clock.UnixNs();
            var rng = new Random(seed);
            var end = DateTime.UtcNow + duration;
            var next = DateTime.UtcNow;
            while (DateTime.UtcNow < end)
            {
                c.Token.ThrowIfCancellationRequested();
                if (proc.HasExited) { failures.Add($"collector exited during churn (code {proc.Stop(TimeSpan.Zero)})"); break; }
                await bed.AddAsync(1, listeners, conns, c.Token);
                added++;
                var victim = bed.Alive[rng.Next(bed.Alive.Count - 1)]; // never the one just added
                await bed.RemoveAsync(victim);
                deleted++;
                next += interval;
                var wait = next - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, c.Token);
            }
            churnEndNs = Clock.UnixNs();

            phase = "drain";
            await bed.RemoveAllAsync();
            (bool drained, finalFds) = await ProcessChecks.FdsAfterDrainAsync(proc, baselineOpen, c.Token);
            if (!drained) failures.Add($"xtcp_namespaces_open did not return to {baselineOpen} within 60 s after all namespaces were deleted");
            if (await proc.Metrics.TryScrapeAsync(c.Token) is { } atEnd) pollOutcomes = CollectorProcess.PollOutcomes(atEnd);
        }
        finally
        {
            samplerStop.Cancel();
            await sampler;
        }

        var survived = ProcessChecks.StopAndCheckSurvived(proc, out var crashFailures);

        // Checks.
        var steady = samples.Where(s => s.Phase != "baseline").Select(s => s.Proc).ToList();
        var churnOnly = samples.Where(s => s.Phase == "churn").Select(s => s.Proc.RssKb).ToList();
        int tenth = Math.Max(3, churnOnly.Count / 10);
        double rssStart = churnOnly.Count >= 2 * tenth ? Median(churnOnly.Take(tenth)) : double.NaN;
        double rssEnd = churnOnly.Count >= 2 * tenth ? Median(churnOnly.Skip(churnOnly.Count - tenth)) : double.NaN;
        double growth = rssEnd / rssStart - 1;

        var timedOutPolls = proc.IncompletePolls();
        var (expected, missing, reportedMisses, incompleteMisses, pollsChecked, timedOutChecked, records, socketsExpected, socketsSeen, destroyRecords) =
            CheckCompleteness(recordsPath, bed, churnStartNs, churnEndNs, grace, timeout, timedOutPolls, failures);
        double socketShare = socketsExpected > 0 ? socketsSeen / (double)socketsExpected : double.NaN;

        var checks = new List<(string Check, string Value, bool Pass)>
        {
            survived,
            ProcessChecks.ThreadsFlat($"threads max - min <= {ProcessChecks.ThreadSpread} (after start)", steady),
            ProcessChecks.FdsBack("fds back to baseline after the namespaces are gone", baselineFds, finalFds),
            ("RSS growth <= 10 % after warm-up", $"{Fmt.Mb((long)rssStart)} -> {Fmt.Mb((long)rssEnd)} MB ({Fmt.Pct(growth)})", !double.IsNaN(growth) && growth <= 0.10),
            ("every namespace alive for a whole poll was collected in it", $"{expected - missing - reportedMisses}/{expected} namespace-polls over {pollsChecked} polls; {missing} unreported misses ({reportedMisses} in {timedOutChecked} polls the collector logged as timed out, {incompleteMisses} in polls marked incomplete)", expected > 0 && missing == 0),
            ("at most half the polls timed out (else completeness is not judged)", $"{timedOutChecked} of {pollsChecked}", pollsChecked > 0 && timedOutChecked * 2 <= pollsChecked),
            ($"known sockets of those namespaces in each such poll >= {Fmt.Pct(SocketCompletenessGoal, 1)}", $"{socketsSeen:N0}/{socketsExpected:N0} ({Fmt.Pct(socketShare, 2)})", socketsExpected > 0 && socketShare >= SocketCompletenessGoal),
        };
        var table = new ResultTable($"churn: {n} namespaces x {listeners + 2 * conns} sockets, +1/-1 every {interval.TotalMilliseconds:F0} ms for {duration.TotalSeconds:F0} s, polling every {frequency.TotalSeconds:F1} s into jsonl",
            "check", "measured", "result");
        table.Add("(info) polls over the whole run", pollOutcomes, "");
        foreach (var (check, value, pass) in checks) table.AddGoal(check, value, pass, failures);
        failures.AddRange(crashFailures);
        table.Print(Console.Out);
        var notes = new List<string>
        {
            $"{added} namespaces added and {deleted} deleted during churn; {records:N0} records read from the jsonl output, {destroyRecords:N0} of them destroy events (closed sockets, stamped when read: in no poll).",
            "Known sockets: a namespace's listeners and connections exist from before it is mounted until it is deleted, so each of its polls must report all of them (by walk or lookup); records beyond that count (TIME_WAIT of the harness's own traffic) are not credited.",
            $"A namespace counts as alive for poll P when its file and sockets existed {grace.TotalMilliseconds:F0} ms (--grace, discovery latency) before P's timestamp and it was deleted no earlier than P + timeout ({timeout.TotalMilliseconds:F0} ms).",
            "A poll the collector logged as timed out (\"poll NS timed out\": a dump unfinished at --timeout is partial or absent, and counted; on a loaded machine a dump can outlast the timeout) excuses its misses and is left out of the socket share.",
            "Thread/fd/RSS samples: /proc/PID/status and /proc/PID/fd every second; the fd baseline is taken with the collector started on an empty watched directory.",
            "xtcp2 anchor: crash-loops under churn at its 2,000-thread cap (threads ~ namespaces x 5).",
        };
        foreach (var note in notes) Console.WriteLine("note: " + note);
        string csv = Path.Combine(c.OutDir, $"churn-{c.RunId}.csv");
        table.WriteCsv(csv);
        WriteSamples(Path.Combine(c.OutDir, $"churn-{c.RunId}-samples.csv"), samples);
        Console.WriteLine($"CSV: {csv}");
        c.WriteMarkdown(new[] { table }, notes);
        if (!keepRecords && failures.Count == 0) File.Delete(recordsPath);
        return c.Verdict(failures, $"; records kept in {recordsPath}");
    }

    /// <summary>Issue 13: of the sockets of namespaces alive for a whole poll, the share each such poll reports.</summary>
    private const double SocketCompletenessGoal = 0.999;

    /// <summary>
    /// Namespace-polls expected, and the misses: unreported ones fail the run; those in polls the collector
    /// logged as timed out (<paramref name="timedOutPolls"/>) are counted apart, and those polls' sockets are
    /// not judged.
    /// </summary>
    private static (int Expected, int Missing, int ReportedMisses, int IncompleteMisses, int Polls, int TimedOutPolls, long Records, long SocketsExpected, long SocketsSeen, long DestroyRecords) CheckCompleteness(
        string path, Testbed bed, long fromNs, long toNs, TimeSpan grace, TimeSpan timeout, HashSet<long> timedOutPolls, List<string> failures)
    {
        if (!File.Exists(path)) { failures.Add($"no records file {path}"); return (0, 0, 0, 0, 0, 0, 0, 0, 0, 0); }
        var log = RecordLog.Read(path);
        if (log.Unparsable > 0) failures.Add($"{log.Unparsable} unparsable jsonl lines in {path}");
        var everyNs = bed.EverCreated;
        int expected = 0, missing = 0, reportedMisses = 0, incompleteMisses = 0, polls = 0, timedOut = 0;
        long socketsExpected = 0, socketsSeen = 0;
        var examples = new List<string>();
        foreach (var (pollNs, seen) in log.Polls)
        {
            if (pollNs < fromNs || pollNs > toNs) continue;
            polls++;
            bool reported = timedOutPolls.Contains(pollNs);
            if (reported) timedOut++;
            foreach (var ns in everyNs)
            {
                bool aliveWholePoll = ns.ReadyNs > 0 && ns.ReadyNs <= pollNs - grace.Ticks * 100
                    && (ns.DeletedNs == 0 || ns.DeletedNs >= pollNs + timeout.Ticks * 100);
                if (!aliveWholePoll) continue;
                expected++;
                if (!reported)
                {
                    socketsExpected += ns.Sockets;
                    socketsSeen += Math.Min(ns.Sockets, seen.Names.GetValueOrDefault(ns.Name));
                }
                if (seen.Names.ContainsKey(ns.Name) || seen.Inodes.Contains(ns.Inode)) continue;
                if (seen.Incomplete) incompleteMisses++;
                if (reported) { reportedMisses++; continue; }
                missing++;
                if (examples.Count < 5) examples.Add($"{ns.Name} (inode {ns.Inode}) missing from poll {pollNs}, which the collector did not report as timed out");
            }
        }
        if (polls == 0) failures.Add($"no poll timestamps inside the churn window in {path} (timestampNs must be Unix ns)");
        failures.AddRange(examples);
        return (expected, missing, reportedMisses, incompleteMisses, polls, timedOut, log.Records, socketsExpected, socketsSeen, log.DestroyRecords);
    }

    private static double Median(IEnumerable<long> values)
    {
        var s = values.OrderBy(v => v).ToList();
        return s.Count == 0 ? double.NaN : s[s.Count / 2];
    }

    private static void WriteSamples(string path, List<Sample> samples)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("unix_ns,phase,threads,rss_kb,fds,utime_ticks,stime_ticks");
        foreach (var s in samples) w.WriteLine($"{s.AtNs},{s.Phase},{s.Proc.Threads},{s.Proc.RssKb},{s.Proc.OpenFds},{s.Proc.UserTicks},{s.Proc.SysTicks}");
    }
}
