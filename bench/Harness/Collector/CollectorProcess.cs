using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;

namespace XtcpEpoll.Bench.Harness.Collector;

/// <summary>What to start the collector with (the CLI contract of `xtcp-epoll collect`).</summary>
internal sealed record CollectorSettings
{
    public string Dest { get; init; } = "null";
    public string Marshal { get; init; } = "protobufList";
    public TimeSpan Frequency { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(800);
    public int MaxLoops { get; init; }
    public int Workers { get; init; } = 2;
    public string? Request { get; init; }
    public required string NetnsDir { get; init; }
    public string LogLevel { get; init; } = "info";
    public IReadOnlyList<string> Extra { get; init; } = Array.Empty<string>();
    /// <summary>Variables added to the collector's environment (e.g. a GC knob under test).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The published collector as a child process: stdout/stderr go to log files, metrics on a free port.
/// Registered with the global cleanup so a Ctrl-C never leaves it running.
/// </summary>
internal sealed class CollectorProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _stdout, _stderr;
    private readonly IDisposable _cleanup;
    private int _stderrLines;

    private CollectorProcess(Process process, StreamWriter stdout, StreamWriter stderr, int port, string commandLine, string logPrefix)
    {
        _process = process; _stdout = stdout; _stderr = stderr;
        MetricsPort = port; CommandLine = commandLine; LogPrefix = logPrefix;
        StartedNs = Clock.UnixNs();
        Metrics = new MetricsScraper(port);
        _cleanup = Cleanup.Register($"collector pid {process.Id}", () => Stop(TimeSpan.FromSeconds(10)));
    }

    public int Pid => _process.Id;
    public int MetricsPort { get; }
    public string CommandLine { get; }
    public string LogPrefix { get; }
    public long StartedNs { get; }
    public MetricsScraper Metrics { get; }
    public bool HasExited => _process.HasExited;
    public int? ExitCode { get; private set; }

    public static CollectorProcess Start(string binary, CollectorSettings s, string logPrefix)
    {
        int port = FreePort();
        var args = new List<string>
        {
            "collect", "--dest", s.Dest, "--marshal", s.Marshal,
            "--frequency", HarnessOptions.Format(s.Frequency), "--timeout", HarnessOptions.Format(s.Timeout),
            "--jitter-pct", "0", "--metrics-listen", $"127.0.0.1:{port}", "--netns-dirs", s.NetnsDir,
            "--workers", s.Workers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-level", s.LogLevel,
        };
        if (s.MaxLoops > 0) args.AddRange(new[] { "--max-loops", s.MaxLoops.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (s.Request != null) args.AddRange(new[] { "--request", s.Request });
        args.AddRange(s.Extra);

        var psi = new ProcessStartInfo(binary)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // No control socket unless asked for (--collector-args="--control-socket PATH" wins: flags beat the
        // environment): the verbs measure the collection loop, and two harness collectors would otherwise contend
        // for the one default path. ci-harness.sh asks for one (a private path) in its churn run, whose thread
        // check then covers the control plane's threads too (design/PERFORMANCE.md, "Control plane threads").
        psi.Environment["XTCP_CONTROL_SOCKET"] = "";
        foreach (var (name, value) in s.Environment) psi.Environment[name] = value;
        Directory.CreateDirectory(Path.GetDirectoryName(logPrefix)!);
        var stdout = new StreamWriter(logPrefix + ".stdout.log") { AutoFlush = true };
        var stderr = new StreamWriter(logPrefix + ".stderr.log") { AutoFlush = true };
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {binary}");
        var cp = new CollectorProcess(p, stdout, stderr, port, binary + " " + string.Join(' ', args), logPrefix);
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) { Interlocked.Increment(ref cp._stderrLines); lock (stderr) stderr.WriteLine(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return cp;
    }

    public ProcSample? Sample() => ProcSampler.TrySample(Pid);

    /// <summary>Scrapes every <paramref name="interval"/> until <paramref name="done"/> holds, the process dies or time runs out.</summary>
    public async Task<MetricsSnapshot?> WaitForMetricsAsync(Func<MetricsSnapshot, bool> done, TimeSpan interval, TimeSpan limit, CancellationToken ct)
    {
        var until = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < until && !HasExited)
        {
            var m = await Metrics.TryScrapeAsync(ct);
            if (m != null && done(m)) return m;
            await Task.Delay(interval, ct);
        }
        return null;
    }

    public static double CompletePolls(MetricsSnapshot m) => m.GetOrZero("xtcp_polls_total", "outcome", "complete");
    public static double AllPolls(MetricsSnapshot m) => m.GetOrZero("xtcp_polls_total", "outcome", "complete") + m.GetOrZero("xtcp_polls_total", "outcome", "timeout");

    /// <summary>How the polls went, for a soak's info row: complete, timed out, ticks skipped, namespace dump timeouts.</summary>
    public static string PollOutcomes(MetricsSnapshot m) =>
        $"{CompletePolls(m)} complete, {m.GetOrZero("xtcp_polls_total", "outcome", "timeout")} timed out, {m.GetOrZero("xtcp_poll_ticks_skipped_total")} ticks skipped, {m.GetOrZero("xtcp_namespace_dump_timeouts_total")} namespace dump timeouts";

    /// <summary>SIGTERM, wait, then SIGKILL; returns the exit code.</summary>
    public int Stop(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            LibC.kill(_process.Id, LibC.SIGTERM);
            if (!_process.WaitForExit(grace))
            {
                Console.Error.WriteLine($"harness: collector pid {Pid} ignored SIGTERM for {grace.TotalSeconds:F0}s; killing it");
                LibC.kill(_process.Id, LibC.SIGKILL);
            }
        }
        _process.WaitForExit();
        ExitCode = _process.ExitCode;
        lock (_stdout) _stdout.Flush();
        lock (_stderr) _stderr.Flush();
        return ExitCode.Value;
    }

    /// <summary>
    /// The end of a measured run: SIGTERM (SIGKILL after 15 s), and a failure, prefixed with <paramref name="label"/>,
    /// for the measurement's error (with the stderr tail), a non-zero exit code and up to 3 crash lines of the log.
    /// </summary>
    public void StopAndCheck(string label, string? measurementError, List<string> failures)
    {
        int exit = Stop(TimeSpan.FromSeconds(15));
        var prefix = label.Length == 0 ? "" : label + ": ";
        if (measurementError != null) failures.Add($"{prefix}{measurementError}; stderr tail:\n{TailOfStderr(10)}");
        if (exit != 0) failures.Add($"{prefix}collector exit code {exit} after SIGTERM (want 0); see {LogPrefix}.stderr.log");
        foreach (var line in CrashLines().Take(3)) failures.Add($"{prefix}collector log: {line}");
    }

    /// <summary>
    /// Timestamps of the polls the collector logged as timed out ("poll NS timed out"), or as having deferred
    /// walks ("poll NS deferred the walks of K namespaces": their walk budget was spent, issue 19): in those, a
    /// namespace whose dump had not finished, or whose first walk waits for a later poll, is absent or partial
    /// by design, and the collector said so.
    /// </summary>
    public HashSet<long> IncompletePolls() => PollsLogged(IncompletePoll);

    /// <summary>
    /// Timestamps of the polls the collector logged as timed out only: a dump still running at --timeout. A poll
    /// that deferred walks met its deadline (that is what the deferral is for) and is not among them.
    /// </summary>
    public HashSet<long> TimedOutPolls() => PollsLogged(TimedOutPoll);

    private HashSet<long> PollsLogged(System.Text.RegularExpressions.Regex pattern)
    {
        var polls = new HashSet<long>();
        var path = LogPrefix + ".stderr.log";
        if (!File.Exists(path)) return polls;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(fs);
        while (reader.ReadLine() is { } line)
        {
            var match = pattern.Match(line);
            if (match.Success) polls.Add(long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return polls;
    }

    private static readonly System.Text.RegularExpressions.Regex IncompletePoll = new(@" poll (\d+) (?:timed out|deferred the walks of) ");
    private static readonly System.Text.RegularExpressions.Regex TimedOutPoll = new(@" poll (\d+) timed out");

    /// <summary>Lines of the collector's stderr that look like a crash (unhandled exception, fatal error).</summary>
    public List<string> CrashLines()
    {
        lock (_stderr) _stderr.Flush();
        var bad = new List<string>();
        foreach (var file in new[] { LogPrefix + ".stderr.log", LogPrefix + ".stdout.log" })
        {
            if (!File.Exists(file)) continue;
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(fs);
            string? line;
            while ((line = reader.ReadLine()) != null)
                if (line.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || line.Contains("Fatal", StringComparison.Ordinal)
                    || line.Contains("fail:", StringComparison.Ordinal) || line.Contains("crit:", StringComparison.Ordinal))
                    bad.Add(line);
        }
        return bad;
    }

    public string TailOfStderr(int lines)
    {
        lock (_stderr) _stderr.Flush();
        try
        {
            using var fs = new FileStream(LogPrefix + ".stderr.log", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(fs);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException) { return ""; }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        _cleanup.Dispose();
        Metrics.Dispose();
        _process.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
    }
}
