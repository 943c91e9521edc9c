using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population.Containers;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes.Containers;

/// <summary>
/// Container soak (issue 25): the published collector (attribution on, --proc-scan, destroy events, jsonl to a
/// file) watches N real podman containers of the project's image (<see cref="SoakImage"/>), one replaced every
/// --rate for --duration, every --host-every-th in the host network; then all are removed. Checks: OS threads
/// flat, fds back to baseline, RSS bounded and not trending up over the last half, attribution of every record
/// of a container's sockets, one destroy record per closed connection socket, no record of a removed
/// container, namespace-polls complete.
/// </summary>
internal sealed class ContainersMode(HarnessContext c)
{
    private sealed record Sample(ProcSample Proc, string Phase, double NamespacesOpen);

    public async Task<bool> RunAsync()
    {
        int n = c.Options.Int("containers", 50), hostEvery = c.Options.Int("host-every", 4), parallel = c.Options.Int("parallel", 4);
        var rate = c.Options.Duration("rate", TimeSpan.FromSeconds(2));
        var duration = c.Options.Duration("duration", TimeSpan.FromHours(1));
        var frequency = c.Options.Duration("frequency", TimeSpan.FromSeconds(2));
        var timeout = c.Options.Duration("timeout", TimeSpan.FromMilliseconds(1500));
        var grace = c.Options.Duration("grace", TimeSpan.FromSeconds(1));
        int rssLimitMb = c.Options.Int("rss-limit-mb", 64);
        // The collector's documented attribution latency: a new cgroup waits for a walk (at most one per
        // --cgroup-refresh, default 5 s), a new namespace for its /proc pass; the first poll after that is attributed.
        var attributionWindow = c.Options.Duration("attribution-window", TimeSpan.FromSeconds(5) + frequency);
        var trendMinimum = c.Options.Duration("trend-min-duration", TimeSpan.FromMinutes(20));
        bool keepRecords = c.Options.Flag("keep-records");
        c.Options.RejectUnknown();

        var failures = new List<string>();
        var samples = new List<Sample>();
        var podman = new PodmanCli(c.RepoRoot);
        ContainerFleet.RemoveStale(podman);
        string collectorBin = c.Collector;
        string tag = $"localhost/xtcp-epoll-soak:{c.RunId}-{Environment.ProcessId}";
        Console.Error.WriteLine($"harness: building {tag} from {Path.GetDirectoryName(collectorBin)}");
        using var imageCleanup = Cleanup.Register("soak image", () => podman.TryRun("rmi", "--force", tag));
        SoakImage.Build(podman, c.RepoRoot, Path.GetDirectoryName(Path.GetFullPath(collectorBin))!, tag);

        string recordsPath = Path.Combine(c.OutDir, $"containers-{c.RunId}-records.jsonl");
        var settings = new CollectorSettings
        {
            NetnsDir = "/run/netns", Dest = "file:" + recordsPath, Marshal = "jsonl", Frequency = frequency, Timeout = timeout, Workers = c.Workers,
            Extra = ["--proc-scan", "--destroy-events", "true", "--container-attribution", "true", .. c.CollectorArgs],
        };
        using var proc = CollectorProcess.Start(collectorBin, settings, c.LogPrefix("collector"));
        Console.Error.WriteLine($"harness: {proc.CommandLine}");
        using var fleet = new ContainerFleet(podman, tag, hostEvery);
        string phase = "baseline";
        double open = 0;
        using var samplerStop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!samplerStop.IsCancellationRequested)
            {
                if (proc.Sample() is { } s) lock (samples) samples.Add(new Sample(s, phase, open));
                try { await Task.Delay(TimeSpan.FromSeconds(1), samplerStop.Token); } catch (OperationCanceledException) { }
            }
        });

        int baselineFds = -1, finalFds = -1, populatedFds = -1, replaced = 0, lateRounds = 0;
        double baselineOpen = double.NaN, populatedOpen = double.NaN, finalOpen = double.NaN;
        string pollOutcomes = "n/a";
        long churnStartNs = 0, churnEndNs = 0;
        try
        {
            var first = await proc.WaitForMetricsAsync(m => CollectorProcess.CompletePolls(m) >= 2, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60), c.Token)
                ?? throw new InvalidOperationException("collector made no 2 complete polls within 60 s:\n" + proc.TailOfStderr(10));
            baselineFds = proc.Sample()?.OpenFds ?? -1;
            baselineOpen = open = first.GetOrZero("xtcp_namespaces_open");
            Console.Error.WriteLine($"harness: baseline {baselineFds} fds, namespaces_open {baselineOpen}; starting {n} containers");

            phase = "populate";
            await StartManyAsync(fleet, n, parallel, failures);
            phase = "warmup";
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(15, Math.Max(5, duration.TotalSeconds / 20))), c.Token);
            if (await proc.Metrics.TryScrapeAsync(c.Token) is { } populated) populatedOpen = open = populated.GetOrZero("xtcp_namespaces_open");
            populatedFds = proc.Sample()?.OpenFds ?? -1;

            phase = "churn";
            churnStartNs = Clock.UnixNs();
            var end = DateTime.UtcNow + duration;
            var next = DateTime.UtcNow;
            while (DateTime.UtcNow < end)
            {
                c.Token.ThrowIfCancellationRequested();
                if (proc.HasExited) { failures.Add($"collector exited during the soak (code {proc.Stop(TimeSpan.Zero)})"); break; }
                SoakContainer victim;
                lock (fleet.Alive) victim = fleet.Alive[0]; // the oldest
                var removal = fleet.RemoveAsync(victim, c.Token);
                var start = fleet.StartAsync(c.Token);
                try { await Task.WhenAll(removal, start); }
                catch (InvalidOperationException e) { failures.Add("podman: " + e.Message); if (failures.Count > 20) break; }
                replaced++;
                next += rate;
                var wait = next - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, c.Token);
                else { lateRounds++; next = DateTime.UtcNow; }
                if (replaced % 30 == 0 && await proc.Metrics.TryScrapeAsync(c.Token) is { } m) open = m.GetOrZero("xtcp_namespaces_open");
            }
            churnEndNs = Clock.UnixNs();

            phase = "drain";
            await fleet.RemoveAllAsync(c.Token);
            // Not drained is judged by the fds check: other engineers' namespaces may stay open (see there).
            (_, finalFds) = await ProcessChecks.FdsAfterDrainAsync(proc, baselineOpen, c.Token);
            if (await proc.Metrics.TryScrapeAsync(c.Token) is { } atEnd)
            {
                finalOpen = atEnd.GetOrZero("xtcp_namespaces_open");
                pollOutcomes = CollectorProcess.PollOutcomes(atEnd);
            }
        }
        finally
        {
            samplerStop.Cancel();
            await sampler;
            await fleet.RemoveAllAsync(CancellationToken.None);
        }

        var survived = ProcessChecks.StopAndCheckSurvived(proc, out var crashFailures);

        // Threads, fds, memory.
        var running = samples.Where(s => s.Phase != "baseline").Select(s => s.Proc).ToList();
        // Other engineers' namespaces may come and go in /run/netns meanwhile: fds are judged against the namespaces
        // the collector holds at the end, at the per-namespace cost measured with the containers up.
        double fdsPerNs = populatedOpen > baselineOpen ? (populatedFds - baselineFds) / (populatedOpen - baselineOpen) : 0;
        double expectedFds = baselineFds + Math.Max(0, finalOpen - baselineOpen) * fdsPerNs;
        var churnRss = samples.Where(s => s.Phase == "churn").Select(s => s.Proc).ToList();
        var lastHalf = churnRss.Skip(churnRss.Count / 2).ToList();
        long rssMax = running.Count > 0 ? running.Max(s => s.RssKb) : 0;
        var (slopeKbPerHour, halfMedianKb) = RssTrend.LastHalf(lastHalf);
        double halfHours = lastHalf.Count > 1 ? (lastHalf[^1].AtNs - lastHalf[0].AtNs) / 3.6e12 : 0;
        double trendKb = slopeKbPerHour * halfHours;
        double trendAllowedKb = Math.Max(2048, 0.05 * halfMedianKb);

        // Records.
        var (records, unparsable) = File.Exists(recordsPath) ? ContainerRecordLog.Read(recordsPath) : (new List<SocketRecord>(), 0);
        if (!File.Exists(recordsPath)) failures.Add($"no records file {recordsPath}");
        if (unparsable > 0) failures.Add($"{unparsable} unparsable jsonl lines in {recordsPath}");
        var checks = ContainerRecordChecks.Evaluate(records, fleet.EverStarted, ProcNetTcp.NetnsInode(Environment.ProcessId), proc.IncompletePolls(), grace, timeout, attributionWindow);
        long attributionJudged = checks.Attributed + checks.Unattributed + checks.Misattributed;
        double nsShare = checks.NamespacePollsExpected > 0 ? checks.NamespacePollsSeen / (double)checks.NamespacePollsExpected : double.NaN;

        var goals = new List<(string Check, string Value, bool Pass)>
        {
            survived,
            ProcessChecks.ThreadsFlat($"OS threads flat (max - min <= {ProcessChecks.ThreadSpread} after start)", running),
            ProcessChecks.FdsBack($"fds back to baseline after the run (+{ProcessChecks.FdSlack})", $"baseline {baselineFds} ({baselineOpen} ns), end {finalFds} ({finalOpen} ns open; {fdsPerNs:F1} fds/ns), expected {expectedFds:F0}", baselineFds, finalFds, expectedFds),
            ($"RSS bounded (max <= {rssLimitMb} MB)", $"max {Fmt.Mb(rssMax)} MB", rssMax > 0 && rssMax <= rssLimitMb * 1024L),
            ("every record of a container's sockets carries its id and runtime podman", $"{checks.Attributed:N0}/{attributionJudged:N0}; {checks.Unattributed:N0} without id ({checks.UnattributedHostNetwork:N0} host network, {checks.UnattributedDestroy:N0} destroy records), {checks.Misattributed:N0} wrong; not judged: {checks.UnattributedFresh:N0} without id in the first {attributionWindow.TotalSeconds:F0} s, {checks.NoCgroupStates:N0} TIME_WAIT/SYN_RECV", attributionJudged > 0 && checks.Attributed == attributionJudged),
            ("every connection a container closed arrives once as a destroy record", $"{checks.DestroyOnce:N0}/{checks.DestroyExpected:N0} sockets once; {checks.DestroyMissing:N0} missing, {checks.DestroyDuplicated:N0} more than once", checks.DestroyExpected > 0 && checks.DestroyOnce == checks.DestroyExpected),
            ("no record of a container after its removal (destroy records aside)", $"{checks.AfterRemoval:N0}", checks.AfterRemoval == 0),
            ("namespace-polls complete >= 99.9 %", $"{checks.NamespacePollsSeen:N0}/{checks.NamespacePollsExpected:N0} ({Fmt.Pct(nsShare, 2)}) over {checks.Polls - checks.TimedOutPolls} polls; {checks.TimedOutPolls} timed-out polls left out ({checks.NamespacePollsMissedInTimedOut}/{checks.NamespacePollsInTimedOut} missed in them)", checks.NamespacePollsExpected > 0 && nsShare >= 0.999),
        };
        int hostCount = fleet.EverStarted.Count(x => x.HostNetwork);
        var table = new ResultTable($"containers: {n} podman containers (1 in {hostEvery} host network), one replaced every {rate.TotalSeconds:F1} s for {duration.TotalSeconds:F0} s, polling every {frequency.TotalSeconds:F1} s into jsonl", "check", "measured", "result");
        table.Add("(info) containers", $"{fleet.EverStarted.Count} started ({hostCount} host network), {replaced} replacements, {lateRounds} late rounds, {fleet.StartFailures} start failures", "");
        table.Add("(info) polls over the whole run", pollOutcomes, "");
        table.Add("(info) records", $"{records.Count:N0} ({records.Count(r => r.Destroy):N0} destroy)", "");
        // The heap settles over the first minutes (short runs grew ~2-3 MB in their last minute, then flattened):
        // a trend means something over a long last half only.
        string trend = $"{trendKb / 1024:F2} MB over the last {halfHours * 60:F1} min (median {halfMedianKb / 1024:F1} MB; allowed {trendAllowedKb / 1024:F1} MB)";
        if (duration >= trendMinimum) goals.Insert(4, ("RSS: no upward trend over the last half (fit <= max(2 MB, 5 %))", trend, lastHalf.Count >= 10 && trendKb <= trendAllowedKb));
        else table.Add($"(info) RSS trend, judged from --duration {HarnessOptions.Format(trendMinimum)}", trend, "");
        foreach (var (check, value, pass) in goals) table.AddGoal(check, value, pass, failures);
        failures.AddRange(checks.Examples.Select(e => "example: " + e));
        failures.AddRange(crashFailures);
        table.Print(Console.Out);
        var notes = new List<string>
        {
            "Workload per container (busybox in the project's image on a test-only base): a persistent echo listener (`nc -ll -e cat`) and one connection to it carrying a line a second.",
            "A container's sockets: in its own namespace every socket of that namespace; in the host network those whose local or peer port is its listener's. TIME_WAIT and SYN_RECV sockets carry no cgroup and are not judged.",
            $"Attribution latency (README \"Containers and pods\"): a poll record without an id within --attribution-window ({attributionWindow.TotalSeconds:F0} s = --cgroup-refresh 5 s + one poll period) of the container's start is counted apart, not judged; any other record without the container's id, or with another one, fails.",
            "Closed connections: the established sockets of the container (both ends) read from /proc/PID/net/tcp{,6} just before `podman rm --force --time 0`; each must have exactly one destroy record (netns inode + ports) within 60 s.",
            $"Namespace-polls: a private namespace counts for poll P when its container was ready {grace.TotalMilliseconds:F0} ms before P and its removal started no earlier than P + timeout ({timeout.TotalMilliseconds:F0} ms); polls the collector logged as timed out are left out.",
            "Samples: /proc/PID/status and /proc/PID/fd every second; RSS trend = least-squares slope over the last half of the replacement phase.",
        };
        foreach (var note in notes) Console.WriteLine("note: " + note);
        string csv = Path.Combine(c.OutDir, $"containers-{c.RunId}.csv");
        table.WriteCsv(csv);
        WriteSamples(Path.Combine(c.OutDir, $"containers-{c.RunId}-samples.csv"), samples);
        WriteContainers(Path.Combine(c.OutDir, $"containers-{c.RunId}-containers.csv"), fleet.EverStarted);
        Console.WriteLine($"CSV: {csv}");
        c.WriteMarkdown(new[] { table }, notes);
        if (!keepRecords && failures.Count == 0) File.Delete(recordsPath);
        return c.Verdict(failures, $"; records kept in {recordsPath}");
    }

    private async Task StartManyAsync(ContainerFleet fleet, int n, int parallel, List<string> failures)
    {
        using var gate = new SemaphoreSlim(parallel);
        var tasks = Enumerable.Range(0, n).Select(async _ =>
        {
            await gate.WaitAsync(c.Token);
            try { await fleet.StartAsync(c.Token); }
            catch (InvalidOperationException e) { lock (failures) failures.Add("podman: " + e.Message); }
            finally { gate.Release(); }
        }).ToList();
        await Task.WhenAll(tasks);
    }

    private static void WriteContainers(string path, List<SoakContainer> containers)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("name,id,port,host_network,pid,netns_inode,started_ns,ready_ns,remove_start_ns,removed_ns,closed_sockets");
        foreach (var x in containers)
            w.WriteLine($"{x.Name},{x.Id},{x.Port},{x.HostNetwork},{x.Pid},{x.NetnsInode},{x.StartedNs},{x.ReadyNs},{x.RemoveStartNs},{x.RemovedNs},{string.Join(' ', x.ClosedSockets.Select(s => $"{s.LocalPort}-{s.RemotePort}"))}");
    }

    private static void WriteSamples(string path, List<Sample> samples)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("unix_ns,phase,threads,rss_kb,fds,namespaces_open");
        foreach (var s in samples) w.WriteLine($"{s.Proc.AtNs},{s.Phase},{s.Proc.Threads},{s.Proc.RssKb},{s.Proc.OpenFds},{s.NamespacesOpen}");
    }
}
