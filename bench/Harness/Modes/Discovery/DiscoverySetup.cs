using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// The `discovery` verb's options, and the collector it starts in every case: the collector's defaults
/// (--walk-interval 60s, destroy events on, ...) except the destination, --jitter-pct 0 (the harness's
/// always: poll ticks it can predict) and what a case sets on purpose.
/// </summary>
internal sealed record DiscoverySetup
{
    /// <summary>The longest default CPU window of the default cases, in polls (a long --walk-interval is sampled, not spanned).</summary>
    private const int MaxDefaultCpuPolls = 12;

    /// <summary>The collector's --walk-interval default (read from its --help).</summary>
    public TimeSpan CollectorDefaultWalkInterval { get; init; }

    public required HashSet<string> Cases { get; init; }
    public int Namespaces { get; init; }
    public int Listeners { get; init; }
    public int Connections { get; init; }
    /// <summary>Percent of the namespaces that open one new connection (per round, or per poll while churning).</summary>
    public int SharePct { get; init; }
    public int Rounds { get; init; }
    public TimeSpan Frequency { get; init; }
    public TimeSpan Timeout { get; init; }
    /// <summary>--walk-interval for the default cases; null: the collector's default (not passed).</summary>
    public TimeSpan? WalkInterval { get; init; }
    public int CpuPolls { get; init; }
    public int ZeroPolls { get; init; }
    /// <summary>
    /// Poll period of the --walk-interval 0 case: long enough for every namespace to walk in every poll (at
    /// 1,000 namespaces, seconds of kernel CPU; more under load), so its CPU per poll is the whole work.
    /// </summary>
    public TimeSpan ZeroFrequency { get; init; }
    public TimeSpan ZeroTimeout => ZeroFrequency * 0.9;
    public TimeSpan P50Goal { get; init; }
    public int StartupNamespaces { get; init; }
    public int StartupListeners { get; init; }
    public int StartupConnections { get; init; }
    public int StartupPolls { get; init; }
    public int Seed { get; init; }
    public bool KeepRecords { get; init; }

    public int SocketsPerNamespace => Listeners + 2 * Connections;
    public int StartupSocketsPerNamespace => StartupListeners + 2 * StartupConnections;
    /// <summary>How often a poll-by-poll case scrapes: often enough to act between polls, rarely enough not to load the collector.</summary>
    public TimeSpan ScrapeEvery => TimeSpan.FromMilliseconds(Math.Clamp(Frequency.TotalMilliseconds / 20, 100, 500));

    public static DiscoverySetup Parse(HarnessContext c)
    {
        var o = c.Options;
        var cases = (o.String("cases") ?? "discovery,cost,churning,startup").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var frequency = o.Duration("frequency", TimeSpan.FromSeconds(10));
        // The collector's rule when --timeout is unset: 5 s, or half of --frequency when that is 5 s or less.
        var timeout = o.Duration("timeout", frequency <= TimeSpan.FromSeconds(5) ? frequency / 2 : TimeSpan.FromSeconds(5));
        TimeSpan? walkInterval = o.String("walk-interval") != null ? o.Duration("walk-interval", default) : null;
        int cpuPolls = o.Int("cpu-polls", 0);
        var setup = new DiscoverySetup
        {
            Cases = cases, Namespaces = o.Int("ns", 1000), Listeners = o.Int("listeners", 1), Connections = o.Int("conns", 10),
            SharePct = o.Int("share", 10), Rounds = o.Int("rounds", 3), Frequency = frequency, Timeout = timeout, WalkInterval = walkInterval,
            ZeroPolls = o.Int("zero-polls", 3), ZeroFrequency = o.Duration("zero-frequency", frequency * 3), P50Goal = o.Duration("p50-goal", TimeSpan.FromMilliseconds(100)),
            StartupNamespaces = o.Int("startup-ns", 2000), StartupListeners = o.Int("startup-listeners", 2), StartupConnections = o.Int("startup-conns", 19),
            StartupPolls = o.Int("startup-polls", 5), Seed = o.Int("seed", 42), KeepRecords = o.Flag("keep-records"),
        };
        o.RejectUnknown();
        if (cases.Count == 0 || !cases.IsSubsetOf(["discovery", "cost", "churning", "startup"]))
            throw new ArgumentException("--cases takes a comma-separated subset of discovery,cost,churning,startup");
        if (setup.Namespaces < 1 || setup.StartupNamespaces < 1) throw new ArgumentException("--ns and --startup-ns must be at least 1");
        if (setup.SharePct is < 1 or > 100) throw new ArgumentException("--share is a percentage of the namespaces, 1-100");
        if (setup.Rounds < 1 || setup.ZeroPolls < 1) throw new ArgumentException("--rounds and --zero-polls must be at least 1");
        if (setup.StartupPolls < 3) throw new ArgumentException("--startup-polls must be at least 3 (the goal is judged at the 3rd poll)");
        if (timeout >= frequency) throw new ArgumentException("--timeout must be below --frequency (the collector refuses it)");
        if (c.CollectorArgsSetWalkInterval)
            throw new ArgumentException("--collector-args must not set --walk-interval (or --shared-tables-refresh): this verb sets it (0 against the default; --walk-interval here sets the other)");
        var defaultInterval = CollectorDefaults.Duration(c.Collector, "--walk-interval")
            ?? throw new InvalidOperationException($"cannot read the --walk-interval default from `{c.Collector} --help`");
        // Staggered by the golden ratio over namespace ids, the interval walks spread evenly over the polls: a
        // window of one whole interval has each once; a shorter one (at most 12 polls by default) samples the same mean.
        if (cpuPolls == 0) cpuPolls = Math.Max(1, Math.Min(MaxDefaultCpuPolls, (int)Math.Ceiling((walkInterval ?? defaultInterval) / frequency)));
        return setup with { CpuPolls = cpuPolls, CollectorDefaultWalkInterval = defaultInterval };
    }

    /// <summary>The collector's settings for a case; <paramref name="walkInterval"/> "0" for the walk-every-poll peer, null for the default.</summary>
    public CollectorSettings Collector(HarnessContext c, string netnsDir, string dest, string marshal, string? walkInterval)
    {
        bool zero = walkInterval == "0";
        var extra = new List<string>(c.CollectorArgs);
        walkInterval ??= WalkInterval is { } w ? HarnessOptions.Format(w) : null;
        if (walkInterval != null) extra.AddRange(["--walk-interval", walkInterval]);
        return new CollectorSettings { NetnsDir = netnsDir, Dest = dest, Marshal = marshal, Frequency = zero ? ZeroFrequency : Frequency, Timeout = zero ? ZeroTimeout : Timeout, Workers = c.Workers, Extra = extra };
    }

    /// <summary>What the default cases' collector runs with, for table titles.</summary>
    public string DefaultWalkIntervalText => WalkInterval is { } w ? HarnessOptions.Format(w) : $"default ({HarnessOptions.Format(CollectorDefaultWalkInterval)})";
}
