using Prometheus;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Metrics;

/// <summary>The loop's Prometheus metrics (default registry; names are the project's binding list).</summary>
public static class LoopMetrics
{
    public static readonly Gauge NamespacesOpen = Prometheus.Metrics.CreateGauge(
        "xtcp_namespaces_open", "Namespaces with an open, verified sock_diag socket.");
    public static readonly Counter NamespaceOpens = Prometheus.Metrics.CreateCounter(
        "xtcp_namespace_opens_total", "Namespaces opened (socket created and verified).");
    public static readonly Counter NamespaceDeletes = Prometheus.Metrics.CreateCounter(
        "xtcp_namespace_deletes_total", "Namespaces removed (socket closed).");
    public static readonly Counter GcAfterCloses = Prometheus.Metrics.CreateCounter(
        "xtcp_gc_after_closes_total", "Compacting full garbage collections run after --gc-after-closes namespaces closed.");
    public static readonly Counter GcAfterClosesSeconds = Prometheus.Metrics.CreateCounter(
        "xtcp_gc_after_closes_seconds_total", "Time the process was paused by those collections.");
    public static readonly Counter NamespaceOpenFailures = Prometheus.Metrics.CreateCounter(
        "xtcp_namespace_open_failures_total", "Failed namespace opens by reason (retried at the next reconcile).",
        new CounterConfiguration { LabelNames = ["reason"] });
    public static readonly Gauge NamespacesSharingHostTable = Prometheus.Metrics.CreateGauge(
        "xtcp_namespaces_sharing_host_table",
        "Open namespaces whose net.ipv4.tcp_ehash_entries is negative (they walk the host-wide TCP hash table).");
    public static readonly Counter NamespaceOpenerRestarts = Prometheus.Metrics.CreateCounter(
        "xtcp_namespace_opener_restarts_total", "Opener threads abandoned because their namespace could not be restored.");
    public static readonly Counter CompatFallbacks = Prometheus.Metrics.CreateCounter(
        "xtcp_compat_request_fallbacks_total", "Namespaces that refused the compat request and use v2 requests.");
    public static readonly Counter DumpsAbandoned = Prometheus.Metrics.CreateCounter(
        "xtcp_dumps_abandoned_total", "In-flight dumps abandoned because their namespace was removed.");
    public static readonly Counter Walks = Prometheus.Metrics.CreateCounter(
        "xtcp_walks_total",
        "Namespace dumps that walked a kernel table, by reason. Full walks (every wanted state; they find new sockets): first (the namespace's first poll), unknown (its TCP counters hold sockets this poll's lookups did not find), interval (--walk-interval came around; 0 = every poll), retry (the last walk did not complete), destroy_overflow (destroy events were lost), deferred (a walk the walk budget put off to a later poll). Established-table dumps between full walks: own_table (the namespace owns a table: cheap), dense (more known sockets than lookups pay for). LISTEN walks: lookup_miss (a known listener's lookup missed), unreachable (a listener a lookup cannot reach), unknown_listeners (an own-table namespace's counters hold sockets its dump and listener lookups did not find).",
        new CounterConfiguration { LabelNames = ["reason"] });
    public static readonly Counter Lookups = Prometheus.Metrics.CreateCounter(
        "xtcp_lookups_total", "Exact lookups of known sockets between walks, by outcome: found, missing (closed or replaced: dropped from the known set).",
        new CounterConfiguration { LabelNames = ["outcome"] });
    /// <summary>The walks counter's child per <see cref="Dumps.WalkReason"/> (index = the enum's value).</summary>
    internal static readonly Counter.Child[] WalksByReason =
        [.. new[] { "first", "interval", "retry", "destroy_overflow", "own_table", "dense", "lookup_miss", "unreachable", "unknown", "deferred", "unknown_listeners" }.Select(r => Walks.WithLabels(r))];
    public static readonly Counter WalkDeferrals = Prometheus.Metrics.CreateCounter(
        "xtcp_walk_deferrals_total", "Full walks of shared-table namespaces put off to a later poll because the poll's walk budget (the part of --timeout left for walks, at their measured cost) was spent; the namespace is served by lookups meanwhile and walks first at a later poll.");
    public static readonly Gauge LastPollWalksDeferred = Prometheus.Metrics.CreateGauge(
        "xtcp_last_poll_walks_deferred", "Namespaces whose full walk the last poll deferred to a later one.");
    public static readonly Counter TcpCounterFailures = Prometheus.Metrics.CreateCounter(
        "xtcp_tcp_counter_failures_total", "Failures to use a namespace's TCP counters (/proc/net/sockstat, sockstat6), by kind: open (at namespace open; it then finds new sockets at its --walk-interval walks only), read, parse (that poll decides without them).",
        new CounterConfiguration { LabelNames = ["kind"] });
    public static readonly Counter.Child TcpCounterFailuresOpen = TcpCounterFailures.WithLabels("open");
    public static readonly Counter.Child TcpCounterFailuresRead = TcpCounterFailures.WithLabels("read");
    public static readonly Counter.Child TcpCounterFailuresParse = TcpCounterFailures.WithLabels("parse");
    public static readonly Counter.Child LookupsFound = Lookups.WithLabels("found");
    public static readonly Counter.Child LookupsMissing = Lookups.WithLabels("missing");
    public static readonly Counter DestroyEvents = Prometheus.Metrics.CreateCounter(
        "xtcp_destroy_events_total", "Records of closed TCP sockets from the kernel's destroy events (record_origin 1), one per socket.");
    public static readonly Counter DestroyEventsLost = Prometheus.Metrics.CreateCounter(
        "xtcp_destroy_events_lost_total", "Destroy events the kernel dropped because a namespace's event socket was full (each loss makes that namespace walk at its next poll).");
    public static readonly Counter SocketRecords = Prometheus.Metrics.CreateCounter(
        "xtcp_socket_records_total",
        "Records of sockets by record_reason: snapshot (--emit all), changed, keyframe, first_sight (--emit changed), destroy (destroy events, under both).",
        new CounterConfiguration { LabelNames = ["reason"] });
    /// <summary>The records-by-reason counter's child per record_reason value (index = the value).</summary>
    internal static readonly Counter.Child[] SocketRecordsByReason = [.. XtcpEpoll.Sinks.Records.RecordReasons.Names.Select(r => SocketRecords.WithLabels(r))];
    public static readonly Counter RecordsSuppressed = Prometheus.Metrics.CreateCounter(
        "xtcp_records_suppressed_total", "Poll records not emitted under --emit changed: nothing counted changed and no keyframe was due.");
    public static readonly Counter DumpErrors = Prometheus.Metrics.CreateCounter(
        "xtcp_dump_errors_total", "Dumps ended by an NLMSG_ERROR or a failed send/recv.");

    public static readonly Counter Polls = Prometheus.Metrics.CreateCounter(
        "xtcp_polls_total", "Polls by outcome and by what started them: timer (the --frequency tick), ctl (ConfigService TriggerPoll/TriggerPollBurst), stream (a PollFlatRecords request).",
        new CounterConfiguration { LabelNames = ["outcome", "trigger"] });
    public static readonly Histogram PollDuration = Prometheus.Metrics.CreateHistogram(
        "xtcp_poll_duration_seconds", "Wall time from poll start to its last record.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    public static readonly Gauge LastPollDuration = Prometheus.Metrics.CreateGauge(
        "xtcp_last_poll_duration_seconds", "Wall time of the last poll.");
    public static readonly Gauge LastPollSockets = Prometheus.Metrics.CreateGauge(
        "xtcp_last_poll_sockets", "Records emitted by the last poll.");
    public static readonly Gauge LastPollNamespaces = Prometheus.Metrics.CreateGauge(
        "xtcp_last_poll_namespaces", "Namespaces that took part in the last poll.");
    public static readonly Counter TicksSkipped = Prometheus.Metrics.CreateCounter(
        "xtcp_poll_ticks_skipped_total", "Ticks that came while a poll was still running.");
    public static readonly Counter DumpTimeouts = Prometheus.Metrics.CreateCounter(
        "xtcp_namespace_dump_timeouts_total", "Namespace dumps not finished by the poll deadline.");
    public static readonly Counter DumpInterrupts = Prometheus.Metrics.CreateCounter(
        "xtcp_dump_interrupts_total", "Dumps flagged NLM_F_DUMP_INTR by the kernel.");
    public static readonly Counter DatagramsRead = Prometheus.Metrics.CreateCounter(
        "xtcp_datagrams_read_total", "Netlink datagrams received.");
    public static readonly Counter BytesRead = Prometheus.Metrics.CreateCounter(
        "xtcp_bytes_read_total", "Netlink bytes received.");
    public static readonly Counter ParseErrors = Prometheus.Metrics.CreateCounter(
        "xtcp_parse_errors_total", "Malformed netlink input by kind.", new CounterConfiguration { LabelNames = ["kind"] });

    public static readonly Gauge OsThreads = Prometheus.Metrics.CreateGauge(
        "xtcp_os_threads", "OS threads of the process (/proc/self/status Threads).");
    public static readonly Gauge OpenFds = Prometheus.Metrics.CreateGauge(
        "xtcp_open_fds", "Open file descriptors (/proc/self/fd).");
    public static readonly Gauge ResidentMemory = Prometheus.Metrics.CreateGauge(
        "xtcp_resident_memory_bytes", "Resident memory (/proc/self/status VmRSS).");

    /// <summary>Label values of xtcp_namespace_open_failures_total{reason} (OpenResult.FailureReason, Lane's epoll).</summary>
    public static readonly string[] OpenFailureReasons = ["open", "not_netns", "vanished", "inode_changed", "setns", "socket", "restore", "verify", "epoll"];

    // Every known label value is exported at 0 from the start, so a series exists before its first event:
    // rate()/increase() then see the first failure (a series born at 1 has no increase), and alert rules and
    // dashboards (deploy/) get series on a healthy daemon instead of "no data".
    static LoopMetrics()
    {
        foreach (var outcome in (string[])["complete", "timeout"])
            foreach (var trigger in Control.PollTriggers.Names) Polls.WithLabels(outcome, trigger);
        foreach (var kind in ParseErrorCounters.Kinds) ParseErrors.WithLabels(kind.ToString());
        foreach (var reason in OpenFailureReasons) NamespaceOpenFailures.WithLabels(reason);
    }
}
