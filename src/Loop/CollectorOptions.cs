using XtcpEpoll.Sinks.Options;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop;

/// <summary>Which inet_diag request a poll sends per namespace.</summary>
public enum RequestMode
{
    /// <summary>TCPDIAG_GETSOCK (type 18), family 0: IPv4 and IPv6 in ONE hash-table walk (default).</summary>
    Compat,
    /// <summary>SOCK_DIAG_BY_FAMILY (type 20): AF_INET then AF_INET6, two walks.</summary>
    V2,
}

/// <summary>Which poll records are emitted (--emit).</summary>
public enum EmitMode
{
    /// <summary>Every socket at every poll (record_reason 0), as xtcp2 (default).</summary>
    All,
    /// <summary>A socket only when a counted field changed, at first sight, and once per keyframe interval.</summary>
    Changed,
}

/// <summary>
/// Everything the collection loop needs to know. Validated by <see cref="Validate"/>; the Host maps CLI
/// flags and environment variables onto it. Defaults are the documented CLI defaults.
/// </summary>
public sealed class CollectorOptions
{
    /// <summary>Poll period (--frequency, default 10 s).</summary>
    public TimeSpan Frequency { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Poll-wide deadline for every namespace's dump (--timeout, default 5 s).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>+/- jitter applied to each tick, percent of Frequency (--jitter-pct, default 20).</summary>
    public int JitterPct { get; set; } = 20;

    /// <summary>Stop after this many completed polls (0 = forever).</summary>
    public int MaxLoops { get; set; }

    /// <summary>
    /// Closed namespaces after which the control thread runs one compacting full GC between two polls (at most
    /// once a minute), so that RSS follows the live namespaces under churn (--gc-after-closes, 0 = never;
    /// <see cref="Control.ChurnCollection"/>). 256 is ~1 MB of dead namespace state.
    /// </summary>
    public int GcAfterCloses { get; set; } = 256;

    /// <summary>Number of lanes (dump thread + parse thread each), --workers, default 2.</summary>
    public int Workers { get; set; } = 2;

    /// <summary>Directories whose entries are netns bind mounts (watched with inotify).</summary>
    public IReadOnlyList<string> NetnsDirs { get; set; } = ["/run/netns", "/run/docker/netns"];

    /// <summary>Also discover every distinct /proc/&lt;pid&gt;/ns/net (anonymous namespaces).</summary>
    public bool ProcScan { get; set; }

    /// <summary>Include the daemon's own namespace, named "default" as in xtcp2 (always on in the daemon; tests may turn it off).</summary>
    public bool IncludeHost { get; set; } = true;

    /// <summary>Periodic rescan repairing missed inotify events (default 60 s).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>compat (one walk, default) or v2 (one walk per family).</summary>
    public RequestMode Request { get; set; } = RequestMode.Compat;

    /// <summary>
    /// The longest time between two full walks of a namespace (--walk-interval, default 30 min; 0 = walk at
    /// every poll and keep nothing known): a dump of every wanted state, which rebuilds the namespace's known
    /// sockets. Between walks a namespace reports its known sockets at every poll, by exact lookups when it
    /// shares the host's TCP table (a walk there visits every socket of the host), or by a dump of its own
    /// established table plus lookups of its listeners when it owns one. New sockets do not wait for the
    /// interval: each poll reads the namespace's TCP counters (/proc/net/sockstat{,6}), and one that holds
    /// sockets its lookups did not find walks in that poll (issue 19). The interval is the safety net for what
    /// the counters cannot tell (a namespace whose counters cannot be read, a race that hid a socket for a poll):
    /// staggered, so each poll walks about Frequency / WalkInterval of the namespaces. 30 min keeps those walks
    /// at ~0.6 % of walking every poll with the default 10 s frequency (design/PERFORMANCE.md, "discovery").
    /// Replaces --shared-tables-refresh.
    /// </summary>
    public TimeSpan WalkInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Subscribe every namespace to the kernel's TCP destroy events (--destroy-events, default on): one record
    /// (record_origin 1) per TCP socket closed, with its final counters, whether or not a poll saw it. Costs a
    /// second netlink socket (fd) per namespace.
    /// </summary>
    public bool DestroyEvents { get; set; } = true;

    /// <summary>
    /// Stamp every record with the container and Kubernetes pod owning its socket (container_id,
    /// container_runtime, pod_uid): from the socket's cgroup, else from a process of its namespace
    /// (--container-attribution, default true).
    /// </summary>
    public bool ContainerAttribution { get; set; } = true;

    /// <summary>
    /// Mount point of the cgroup v2 hierarchy that socket cgroup ids (INET_DIAG_CGROUP_ID) refer to
    /// (--cgroup-root): null = found in /proc/self/mountinfo (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
    /// hybrid hosts); "none" = attribute by namespace only.
    /// </summary>
    public string? CgroupRoot { get; set; }

    /// <summary>
    /// The kubelet's pod log directory (--pod-logs-dir, default /var/log/pods; its podLogsDir setting since
    /// Kubernetes 1.30): its entries namespace_name_uid give pod names to pod uids. "none" = do not look.
    /// </summary>
    public string PodLogsDir { get; set; } = "/var/log/pods";

    /// <summary>
    /// The directory of the kubelet's container log links (--container-logs-dir, default /var/log/containers):
    /// pod_namespace_container-id.log, the only place that ties a container id to its name. "none" = do not look.
    /// </summary>
    public string ContainerLogsDir { get; set; } = "/var/log/containers";

    /// <summary>
    /// Smallest interval between two walks of the cgroup hierarchy (--cgroup-refresh, default 5 s). A walk is
    /// asked for by a socket whose cgroup is unknown (a container started since the last walk) or by a new
    /// namespace; sockets of a container started since are attributed by namespace until it runs.
    /// </summary>
    public TimeSpan CgroupRefresh { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>--emit: all (default) or changed (change-only records with keyframes; design/ARCHITECTURE.md).</summary>
    public EmitMode Emit { get; set; } = EmitMode.All;

    /// <summary>
    /// --keyframe-interval (default 10 m): under --emit changed every live socket is emitted at least once per
    /// this interval (rounded up to whole polls, staggered over sockets). 10 minutes: at the default 10 s poll
    /// an idle socket costs 1/60 of a record per poll (1.7 %, under the 2 % goal), and a consumer that starts
    /// reading (or a "state at time T" query) needs to look back no further than this.
    /// </summary>
    public TimeSpan KeyframeInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The keyframe schedule of --emit changed (null under --emit all).</summary>
    public XtcpEpoll.Loop.Changes.KeyframeSchedule? KeyframeScheduleOrNull() => Emit == EmitMode.Changed
        ? new XtcpEpoll.Loop.Changes.KeyframeSchedule(XtcpEpoll.Loop.Changes.KeyframeSchedule.PollsFor(KeyframeInterval, Frequency))
        : null;

    /// <summary>Pace sends evenly over (Frequency - Timeout margin) instead of all at the tick.</summary>
    public bool Spread { get; set; }

    /// <summary>TCP state bitmask (bit = 1 &lt;&lt; TCP_*); default every state but BOUND_INACTIVE (TcpStates.Default).</summary>
    public uint States { get; set; } = XtcpEpoll.Netlink.Requests.TcpStates.Default;

    /// <summary>inet_diag idiag_ext bits (which attributes the kernel adds); default = AttributeSelection.Default.</summary>
    public byte IdiagExt { get; set; } = XtcpEpoll.Netlink.Requests.AttributeSelection.Default.IdiagExt;

    public string Hostname { get; set; } = Environment.MachineName;
    public string Label { get; set; } = "";
    public string Tag { get; set; } = "";
    public string Location { get; set; } = "";
    public string DaemonVersion { get; set; } = "";

    /// <summary>
    /// Memory bound per lane's pipe (bytes): above it the lane stops reading (the kernel keeps the data).
    /// Total pipe memory is about Workers x this value.
    /// </summary>
    public long PipeBytesPerLane { get; set; } = 4L << 20;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);
    public static readonly IntegerRange JitterPctRange = new(0, 90);
    public static readonly IntegerRange MaxLoopsRange = new(0, int.MaxValue);
    public static readonly IntegerRange GcAfterClosesRange = new(0, 1_000_000);
    public static readonly IntegerRange WorkersRange = new(1, 64);
    public static readonly DurationFloor ReconcileIntervalFloor = new(TimeSpan.FromMilliseconds(100));
    public static readonly DurationFloor CgroupRefreshFloor = new(TimeSpan.FromMilliseconds(100));
    public const long MinPipeBytesPerLane = 256 * 1024;

    /// <summary>
    /// The deadline when only the period was chosen: <see cref="DefaultTimeout"/>, or half the period when
    /// that would not fit below it ("--frequency 1s" alone must work).
    /// </summary>
    public static TimeSpan DefaultTimeoutFor(TimeSpan frequency) => DefaultTimeout < frequency ? DefaultTimeout : frequency / 2;

    /// <summary>
    /// Every rule of the loop's options, in one place: the command line, the XTCP_* environment and library
    /// callers (<see cref="Collector"/>) all get their verdict from here. Null when valid.
    /// </summary>
    public OptionError? Validate()
    {
        var error = DurationFloor.Positive.Check("frequency", Frequency)
            ?? DurationFloor.Positive.Check("timeout", Timeout);
        if (error != null) return error;
        if (Timeout >= Frequency)
            return new OptionError("timeout", GoDuration.Format(Timeout), $"must be below --frequency ({GoDuration.Format(Frequency)})");
        error = JitterPctRange.Check("jitter-pct", JitterPct)
            ?? MaxLoopsRange.Check("max-loops", MaxLoops)
            ?? GcAfterClosesRange.Check("gc-after-closes", GcAfterCloses)
            ?? WorkersRange.Check("workers", Workers)
            ?? DurationFloor.NotNegative.Check("walk-interval", WalkInterval)
            ?? KeyframeIntervalError()
            ?? ReconcileIntervalFloor.Check("reconcile-interval", ReconcileInterval)
            ?? CgroupRefreshFloor.Check("cgroup-refresh", CgroupRefresh)
            ?? CgroupRootError()
            ?? LogDirError("pod-logs-dir", PodLogsDir)
            ?? LogDirError("container-logs-dir", ContainerLogsDir)
            ?? NetnsDirsError()
            ?? RecordStampRules.Check(Hostname, Label, Tag, Location);
        if (error != null) return error;
        var paced = Frequency * (1 - JitterPct / 100.0);
        if (Spread && paced - Timeout <= TimeSpan.Zero)
            return new OptionError("spread", "true",
                $"needs room to pace sends: --timeout ({GoDuration.Format(Timeout)}) must be below --frequency x (1 - --jitter-pct/100) ({GoDuration.Format(paced)})");
        if (PipeBytesPerLane < MinPipeBytesPerLane)
            return new OptionError("pipe-bytes-per-lane", PipeBytesPerLane.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be at least 256 KiB");
        return null;
    }

    /// <summary>
    /// Under --emit changed, at least one poll (a keyframe at every poll is --emit all with extra bookkeeping;
    /// shorter means nothing). Ignored under --emit all.
    /// </summary>
    private OptionError? KeyframeIntervalError() => Emit == EmitMode.All || KeyframeInterval >= Frequency ? null
        : new OptionError("keyframe-interval", GoDuration.Format(KeyframeInterval), $"must be at least --frequency ({GoDuration.Format(Frequency)}): every socket is emitted once per keyframe interval, at a poll");

    /// <summary>Null (auto: found in mountinfo), "none", or an absolute directory.</summary>
    private OptionError? CgroupRootError() => CgroupRoot is null or "none" || Path.IsPathRooted(CgroupRoot) ? null
        : new OptionError("cgroup-root", CgroupRoot, "must be auto, none or an absolute directory (where cgroup2 is mounted)");

    private static OptionError? LogDirError(string option, string dir) => dir == "none" || Path.IsPathRooted(dir) ? null
        : new OptionError(option, dir, "must be none or an absolute directory (where the kubelet writes its logs)");

    private OptionError? NetnsDirsError()
    {
        foreach (var dir in NetnsDirs)
        {
            if (!Path.IsPathRooted(dir))
                return new OptionError("netns-dirs", string.Join(",", NetnsDirs), $"\"{dir}\" is not an absolute path (comma-separated absolute directories, may be empty)");
        }
        return null;
    }
}
