namespace XtcpEpoll.Host.Cli;

/// <summary>
/// Every option of every command, in the order --print-config and --help show them. Defaults are the
/// documented defaults (README); the binder turns the text into typed values and validates it.
/// </summary>
public static class OptionCatalog
{
    public static readonly OptionSpec Frequency = new("frequency", "10s", "Poll period, Go-style duration (500ms, 10s, 1m).");
    public static readonly OptionSpec Timeout = new("timeout", "5s", "Poll-wide deadline for every namespace's dump; must be below --frequency.");
    public static readonly OptionSpec JitterPct = new("jitter-pct", "20", "+/- jitter of each tick, percent of --frequency (0-90).");
    public static readonly OptionSpec MaxLoops = new("max-loops", "0", "Stop after this many polls (0 = run until signalled).");
    public static readonly OptionSpec Dest = new("dest", "stdout", "Destination: null, stdout, file:PATH (truncated at start; see --file-append), tcp:HOST:PORT, udp:HOST:PORT, unix:PATH, unixgram:PATH, http(s)://..., kafka:BROKER[,BROKER].");
    public static readonly OptionSpec FileAppend = new("file-append", "false", "file:PATH destination: append to an existing file instead of truncating it at start (the default, so a rerun replaces its output).", isSwitch: true);
    public static readonly OptionSpec Marshal = new("marshal", "protobufList", "Encoding: protobufList, jsonl, protoJson, csv, tsv.");
    public static readonly OptionSpec Topic = new("topic", "xtcp", "Kafka topic.");
    public static readonly OptionSpec Columns = new("columns", "", "csv/tsv: comma-separated lowerCamelCase field names (empty = all).");
    public static readonly OptionSpec Attributes = new("attributes", "default", "inet_diag attributes to request: default, all, or a list such as info,cong,skmem.");
    public static readonly OptionSpec States = new("states", "default", "TCP states to dump: default (all but bound-inactive, as ss -a), all, or a list such as established,listen.");
    public static readonly OptionSpec NetnsDirs = new("netns-dirs", "/run/netns,/run/docker/netns", "Comma-separated directories of netns bind mounts (watched).");
    public static readonly OptionSpec ProcScan = new("proc-scan", "false", "Also discover namespaces via /proc/<pid>/ns/net (needs CAP_SYS_PTRACE).", isSwitch: true);
    public static readonly OptionSpec ReconcileInterval = new("reconcile-interval", "60s", "Rescan period that repairs missed namespace events.");
    public static readonly OptionSpec WalkInterval = new("walk-interval", "60s", "How often each namespace's dump walks every wanted state (finds new sockets; staggered over namespaces). In between, known sockets are reported at every poll by exact lookup (own-table namespaces also dump their established table). 0 = walk at every poll.");
    public static readonly OptionSpec SharedTablesRefresh = new("shared-tables-refresh", "", "Deprecated: the old name of --walk-interval (its value is used as --walk-interval, with a warning).", replacedBy: WalkInterval);
    public static readonly OptionSpec DestroyEvents = new("destroy-events", "true", "Record every TCP socket of every namespace when it closes, with its final counters (kernel destroy events; a second netlink socket per namespace).", isSwitch: true);
    public static readonly OptionSpec ContainerAttribution = new("container-attribution", "true", "Stamp records with the container and pod owning each socket (container_id, container_runtime, pod_uid): from the socket's cgroup, else from a process of its namespace.");
    public static readonly OptionSpec CgroupRoot = new("cgroup-root", "auto", "Mount point of the cgroup v2 hierarchy socket cgroup ids refer to: auto (from /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts), a directory, or none (attribute by namespace only).");
    public static readonly OptionSpec CgroupRefresh = new("cgroup-refresh", "5s", "Smallest interval between two walks of the cgroup hierarchy (asked for by sockets of unknown cgroups and by new namespaces); >= 100ms.");
    public static readonly OptionSpec Workers = new("workers", "2", "Worker lanes (1-64).");
    public static readonly OptionSpec Request = new("request", "compat", "Dump request: compat (one walk for IPv4+IPv6) or v2 (one walk per family).");
    public static readonly OptionSpec Spread = new("spread", "false", "Pace namespace dumps over the poll period instead of all at the tick.", isSwitch: true);
    public static readonly OptionSpec EnvelopeFlushBytes = new("envelope-flush-bytes", "786432", "Flush an envelope at this many encoded bytes.");
    public static readonly OptionSpec EnvelopeFlushRows = new("envelope-flush-rows", "10000", "Flush an envelope at this many rows.");
    public static readonly OptionSpec KafkaCompression = new("kafka-compression", "zstd", "Kafka compression: zstd, lz4, snappy, gzip, none.");
    public static readonly OptionSpec KafkaQueueMaxEnvelopes = new("kafka-queue-max-envelopes", "1000", "Envelopes held in memory while Kafka is unreachable; beyond it the oldest are dropped.");
    public static readonly OptionSpec KafkaQueueMaxBytes = new("kafka-queue-max-bytes", "268435456", "Byte bound of the same Kafka queue (at least --envelope-flush-bytes).");
    public static readonly OptionSpec SinkQueueEnvelopes = new("sink-queue-envelopes", "4", "Flushed envelopes that may wait for the sink thread; beyond it collection waits (bounded memory).");
    public static readonly OptionSpec Hostname = new("hostname", "", "Hostname stamped on records (empty = this machine's name).");
    public static readonly OptionSpec Label = new("label", "", "Free text stamped on records (max 40 characters).");
    public static readonly OptionSpec Tag = new("tag", "", "Free text stamped on records (max 40 characters).");
    public static readonly OptionSpec Location = new("location", "", "Free text stamped on records (max 253 characters).");
    public static readonly OptionSpec MetricsListen = new("metrics-listen", "127.0.0.1:9088", "HOST:PORT of /metrics, /healthz, /readyz (empty = disabled).");
    public static readonly OptionSpec LogLevel = new("log-level", "info", "trace, debug, info, warn, error.");
    public static readonly OptionSpec ShutdownTimeout = new("shutdown-timeout", "10s", "Bound on flushing the envelope and the sink at SIGTERM.");
    public static readonly OptionSpec PrintConfig = new("print-config", "false", "Print the effective configuration (key: value) and exit.", isSwitch: true);

    /// <summary>Options of `collect` (and of the root command, since collect is the default).</summary>
    public static readonly IReadOnlyList<OptionSpec> Collect =
    [
        Frequency, Timeout, JitterPct, MaxLoops, Dest, FileAppend, Marshal, Topic, Columns, Attributes, States, NetnsDirs,
        ProcScan, ReconcileInterval, Workers, Request, Spread, WalkInterval, DestroyEvents, ContainerAttribution, CgroupRoot, CgroupRefresh,
        EnvelopeFlushBytes, EnvelopeFlushRows,
        KafkaCompression, KafkaQueueMaxEnvelopes, KafkaQueueMaxBytes, SinkQueueEnvelopes, Hostname, Label, Tag,
        Location, MetricsListen, LogLevel, ShutdownTimeout, PrintConfig, SharedTablesRefresh,
    ];

    /// <summary>Options of `replay`: the same record stamping and output path as live collection.</summary>
    public static readonly IReadOnlyList<OptionSpec> Replay =
    [
        Dest, FileAppend, Marshal, Topic, Columns, EnvelopeFlushBytes, EnvelopeFlushRows, KafkaCompression,
        KafkaQueueMaxEnvelopes, KafkaQueueMaxBytes, SinkQueueEnvelopes, Hostname, Label, Tag, Location, LogLevel, ShutdownTimeout, PrintConfig,
    ];
}
