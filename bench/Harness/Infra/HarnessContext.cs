using XtcpEpoll.Bench.Harness.Collector;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>Options and places shared by every mode.</summary>
internal sealed class HarnessContext
{
    private string? _collector;

    public HarnessContext(HarnessOptions options, string verb, string[] args)
    {
        Options = options;
        Verb = verb;
        RepoRoot = CollectorBinary.RepoRoot();
        OutDir = Path.GetFullPath(options.String("out") ?? Path.Combine(RepoRoot, "artifacts", "bench"));
        Directory.CreateDirectory(OutDir);
        Workers = options.Int("workers", 2);
        WriteReport = !options.Flag("no-report");
        CollectorOption = options.String("collector");
        QuietWait = options.Duration("quiet-wait", TimeSpan.FromSeconds(15));
        CollectorArgs = (options.String("collector-args") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        CommandLine = "dotnet run -c Release --project bench -- " + string.Join(' ', args);
        RunId = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
    }

    public HarnessOptions Options { get; }
    public string Verb { get; }
    public string RepoRoot { get; }
    public string OutDir { get; }
    public int Workers { get; }
    public bool WriteReport { get; }
    public string? CollectorOption { get; }
    /// <summary>Longest wait for an idle machine before a measurement (kernel netns teardown of earlier runs).</summary>
    public TimeSpan QuietWait { get; }
    /// <summary>Extra collector options for experiments (--collector-args "--states established --attributes all").</summary>
    public IReadOnlyList<string> CollectorArgs { get; }

    /// <summary>
    /// Whether <see cref="CollectorArgs"/> sets the collector's walk interval, as --walk-interval or its deprecated
    /// name --shared-tables-refresh ("--flag value" or "--flag=value"). A verb that passes its own --walk-interval
    /// must not add a second one: the collector refuses the two names together (exit 2).
    /// </summary>
    public bool CollectorArgsSetWalkInterval =>
        CollectorArgs.Any(a => WalkIntervalFlags.Any(f => a == f || a.StartsWith(f + "=", StringComparison.Ordinal)));

    private static readonly string[] WalkIntervalFlags = ["--walk-interval", "--shared-tables-refresh"];
    public string CommandLine { get; }
    public string RunId { get; }
    public CancellationToken Token => Cleanup.Token;

    /// <summary>The collector binary, published on first use unless --collector was given.</summary>
    public string Collector => _collector ??= CollectorBinary.Resolve(CollectorOption, RepoRoot);

    /// <summary>Unless --no-report: the run's tables and notes as a markdown file in --out, its path printed.</summary>
    public void WriteMarkdown(IEnumerable<Report.ResultTable> tables, IEnumerable<string> notes)
    {
        if (WriteReport) Console.WriteLine($"markdown: {Report.ResultsMarkdown.Write(OutDir, Verb, CommandLine, tables, notes)}");
    }

    /// <summary>
    /// Each failure as a "FAIL …" line, then the verb's verdict line ("PASS verb" or "FAIL verb (N problem(s))" +
    /// <paramref name="failDetail"/>), which bench/ci-harness.sh reads; true when the run passed.
    /// </summary>
    public bool Verdict(IReadOnlyList<string> failures, string failDetail = "")
    {
        foreach (var f in failures) Console.WriteLine("FAIL " + f);
        Console.WriteLine(failures.Count == 0 ? $"PASS {Verb}" : $"FAIL {Verb} ({failures.Count} problem(s)){failDetail}");
        return failures.Count == 0;
    }

    public string LogPrefix(string name) => Path.Combine(OutDir, "logs", $"{Verb}-{RunId}-{name}");
}
