using System.Diagnostics;
using System.Globalization;
using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// Issue 20's measurement: builds of the collector (by default the JIT and the Native AOT publish of this
/// checkout) side by side in one run, on the same populations. (1) Start to first record: 10 namespaces,
/// `--dest stdout --max-loops 1`, wall time from process start to its first stdout line (median of --start-runs).
/// (2) 1,000 namespaces x 21 sockets on the shared host table, lookups (--walk-interval default) and destroy
/// events on, `--frequency 2s --timeout 1s`: whether the first poll completes with every socket, then peak RSS
/// (VmHWM), peak OS threads, and user/sys CPU per poll over --polls polls. (3) What a deployment copies.
/// Goals are judged for builds labelled aot*; the others are the peers.
/// </summary>
internal sealed class BinariesMode(HarnessContext c)
{
    public async Task<bool> RunAsync()
    {
        int n = c.Options.Int("ns", 1000), conns = c.Options.Int("conns", 10), listeners = c.Options.Int("listeners", 1);
        int startNs = c.Options.Int("start-ns", 10), startRuns = c.Options.Int("start-runs", 5), polls = c.Options.Int("polls", 10);
        var frequency = c.Options.Duration("frequency", TimeSpan.FromSeconds(2));
        var timeout = c.Options.Duration("timeout", TimeSpan.FromSeconds(1));
        var variantEnv = c.Options.String("variant-env");
        var builds = CollectorBuilds.Resolve(c.Options.String("collectors"), c.RepoRoot)
            .Select(b => (b.Label, b.Path, Env: (IReadOnlyDictionary<string, string>)new Dictionary<string, string>())).ToList();
        c.Options.RejectUnknown();
        if (variantEnv != null)
        {
            var eq = variantEnv.IndexOf('=');
            if (eq <= 0) throw new ArgumentException("--variant-env takes VAR=VALUE");
            var env = new Dictionary<string, string> { [variantEnv[..eq]] = variantEnv[(eq + 1)..] };
            builds = [.. builds.SelectMany(b => new[] { b, (Label: $"{b.Label} {variantEnv}", b.Path, Env: (IReadOnlyDictionary<string, string>)env) })];
        }
        var failures = new List<string>();
        string[] extra = [.. c.CollectorArgs, "--destroy-events"];

        var starts = new Dictionary<string, double>();
        var startCpu = new Dictionary<string, double>();
        using (var small = new Testbed("bin-start"))
        {
            await small.AddAsync(startNs, listeners, conns, c.Token);
            await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
            // Interleaved (jit, aot, jit, aot, ...): a load change on a shared machine hits every build alike.
            var runs = builds.ToDictionary(b => b.Label, _ => new List<(double Wall, double Cpu)>());
            for (int i = 0; i < startRuns; i++)
                foreach (var b in builds) runs[b.Label].Add(await StartToFirstRecordAsync(b.Path, b.Env, small.WatchDir, extra, failures));
            foreach (var (label, list) in runs)
            {
                starts[label] = list.Select(r => r.Wall).Order().ElementAt(list.Count / 2);
                startCpu[label] = list.Select(r => r.Cpu).Order().ElementAt(list.Count / 2);
            }
        }

        var rows = new List<(string Label, string Path, bool FirstComplete, double FirstSockets, PollMeasurement M, long HwmKb)>();
        using var bed = new Testbed("binaries");
        await bed.AddAsync(n, listeners, conns, c.Token);
        int perNamespace = listeners + 2 * conns;
        Console.Error.WriteLine($"harness: {n} namespaces x {perNamespace} sockets on the shared host table ({bed.SocketsAlive} sockets)");
        foreach (var b in builds)
        {
            await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
            var settings = new CollectorSettings { NetnsDir = bed.WatchDir, Frequency = frequency, Timeout = timeout, Workers = c.Workers, Extra = extra, Environment = b.Env };
            using var proc = CollectorProcess.Start(b.Path, settings, c.LogPrefix("binaries-" + b.Label.Replace(' ', '_').Replace('=', '_')));
            Console.Error.WriteLine($"harness: {b.Label}: {proc.CommandLine}");
            var first = await proc.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) >= 1, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(120), c.Token);
            bool firstComplete = first != null && first.GetOrZero("xtcp_polls_total", "outcome", "complete") >= 1
                && first.Get("xtcp_last_poll_sockets") >= bed.SocketsAlive;
            double firstSockets = first?.Get("xtcp_last_poll_sockets") ?? double.NaN;
            var measured = await PollMeter.MeasureAsync(proc, 1, polls, frequency, c.Token);
            long hwm = VmHwmKb(proc.Pid);
            proc.StopAndCheck(b.Label, measured.Error, failures);
            rows.Add((b.Label, b.Path, firstComplete, firstSockets, measured, hwm));
            Console.Error.WriteLine($"harness: {b.Label}: first poll {(firstComplete ? "complete" : "INCOMPLETE")} ({Fmt.Num(firstSockets)} sockets), peak RSS {Fmt.Mb(hwm)} MB, threads {measured.ThreadsMax}");
        }

        var table = new ResultTable($"binaries: {n} namespaces x {perNamespace} sockets (shared host table), --destroy-events, --frequency {HarnessOptions.Format(frequency)} --timeout {HarnessOptions.Format(timeout)}; start: {startNs} namespaces",
            "build", "start to first record ms (median)", "start run CPU ms (median)", "first poll", "first poll sockets", "peak RSS MB (VmHWM)", "peak threads", "user ms/poll", "sys ms/poll",
            "poll wall p50 ms", "timeouts", "executable MB", "shipped MB (with librdkafka)");
        var goals = new ResultTable("binaries goals (issue 20), for aot builds", "goal", "measured", "result");
        foreach (var (label, path, firstComplete, firstSockets, m, hwm) in rows)
        {
            var (exe, shipped) = CollectorBuilds.Sizes(path);
            table.Add(label, Fmt.Ms(starts[label]), Fmt.Ms(startCpu[label]), firstComplete ? "complete" : "incomplete", Fmt.Num(firstSockets), Fmt.Mb(hwm), m.ThreadsMax.ToString(CultureInfo.InvariantCulture),
                Fmt.Ms(m.UserPerPollSec), Fmt.Ms(m.SysPerPollSec), Fmt.Ms(m.PollP50), m.TimeoutPolls.ToString(CultureInfo.InvariantCulture),
                Fmt.Mb(exe / 1024), Fmt.Mb(shipped / 1024));
            if (!label.StartsWith("aot", StringComparison.Ordinal)) continue;
            goals.AddGoal($"{label}: peak RSS <= 40 MB", Fmt.Mb(hwm) + " MB", hwm <= 40 * 1024, failures);
            goals.AddGoal($"{label}: peak OS threads <= 12", m.ThreadsMax.ToString(CultureInfo.InvariantCulture), m.ThreadsMax <= 12, failures);
            goals.AddGoal($"{label}: first poll complete at {n} namespaces, --timeout {HarnessOptions.Format(timeout)}", $"{Fmt.Num(firstSockets)} of >= {bed.SocketsAlive} sockets", firstComplete, failures);
            goals.AddGoal($"{label}: start to first record <= 150 ms at {startNs} namespaces", Fmt.Ms(starts[label]) + " ms", starts[label] <= 0.150, failures);
        }
        table.Print(Console.Out);
        goals.Print(Console.Out);
        var notes = new List<string>
        {
            "Builds run one after the other on one population; start-to-first-record runs are interleaved across builds.",
            "start run CPU: user + sys of the whole --max-loops 1 run (start, one poll, exit; 10 ms ticks), median; unlike the wall time, other load does not inflate it.",
            "peak RSS: VmHWM of /proc/PID/status when the collector is stopped (the high-water mark over its whole life); peak threads: the most seen in /proc samples.",
            "first poll: xtcp_polls_total{outcome=complete} and xtcp_last_poll_sockets at the first scrape after poll 1 (every socket created must be in it).",
            "shipped MB: every file of the publish directory except debug symbols (.dbg, .pdb); a JIT build also needs the shared .NET runtime, not counted.",
        };
        foreach (var note in notes) Console.WriteLine("note: " + note);
        string csv = Path.Combine(c.OutDir, $"binaries-{c.RunId}.csv");
        table.WriteCsv(csv);
        Console.WriteLine($"CSV: {csv}");
        c.WriteMarkdown(new[] { table, goals }, notes);
        return c.Verdict(failures);
    }

    /// <summary>
    /// Seconds from starting the process to its first stdout line (a record), and the CPU the whole run took
    /// (start, one poll, shutdown: user + sys of the process, which other load on the machine does not inflate).
    /// </summary>
    private async Task<(double Wall, double Cpu)> StartToFirstRecordAsync(string binary, IReadOnlyDictionary<string, string> env, string netnsDir, string[] extra, List<string> failures)
    {
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "collect", "--dest", "stdout", "--marshal", "jsonl", "--max-loops", "1", "--frequency", "2s", "--timeout", "1s",
                     "--jitter-pct", "0", "--metrics-listen", "", "--netns-dirs", netnsDir, "--workers", c.Workers.ToString(CultureInfo.InvariantCulture) }.Concat(extra))
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in env) psi.Environment[name] = value;
        var firstLine = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var childCpuBefore = ReapedChildrenCpuSec();
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data != null) firstLine.TrySetResult(clock.ElapsedTicks); };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var exited = p.WaitForExitAsync(c.Token);
        if (await Task.WhenAny(firstLine.Task, exited, Task.Delay(TimeSpan.FromSeconds(30), c.Token)) != firstLine.Task)
        {
            if (!p.HasExited) p.Kill();
            await p.WaitForExitAsync(c.Token);
            failures.Add($"{binary}: no record within 30 s of start (exit {p.ExitCode})");
            return (double.NaN, double.NaN);
        }
        await exited;
        if (p.ExitCode != 0) failures.Add($"{binary} --max-loops 1: exit {p.ExitCode}");
        return (firstLine.Task.Result / (double)Stopwatch.Frequency, ReapedChildrenCpuSec() - childCpuBefore);
    }

    /// <summary>
    /// cutime + cstime of this process (/proc/self/stat): the CPU of its children that exited and were reaped, in
    /// 10 ms ticks. The run's process is the only child that exits meanwhile (its CPU cannot be read once reaped).
    /// </summary>
    private static double ReapedChildrenCpuSec()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
        return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static long VmHwmKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }
}
