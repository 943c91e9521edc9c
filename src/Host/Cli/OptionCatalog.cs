using System.Globalization;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Options;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Host.Cli;

/// <summary>
/// Every option of every command, in the order --print-config and --help show them. Defaults are the
/// documented defaults (README); the binder turns the text into typed values and validates it.
/// </summary>
public static class OptionCatalog
{
    // Defaults and ranges of library options come from the library's options types (their one home); the
    // texts below only phrase them for --help. Host-only options (metrics, logging, shutdown) live here.
    private static readonly CollectorOptions Loop = new();
    private static readonly SinkOptions Sink = new();

    public static readonly OptionSpec Frequency = new("frequency", GoDuration.Format(Loop.Frequency), "Poll period, Go-style duration (500ms, 10s, 1m).");
    public static readonly OptionSpec Timeout = new("timeout", GoDuration.Format(Loop.Timeout), "Poll-wide deadline for every namespace's dump; must be below --frequency (unset, a shorter --frequency halves it).");
    public static readonly OptionSpec JitterPct = new("jitter-pct", Text(Loop.JitterPct), $"+/- jitter of each tick, percent of --frequency ({Range(CollectorOptions.JitterPctRange)}).");
    public static readonly OptionSpec MaxLoops = new("max-loops", Text(Loop.MaxLoops), "Stop after this many polls (0 = run until signalled).");
    public static readonly OptionSpec Dest = new("dest", "stdout", $"Destination: {DestinationSpec.Usage.Replace("file:PATH", "file:PATH (truncated at start; see --file-append)", StringComparison.Ordinal)}.");
    public static readonly OptionSpec FileAppend = new("file-append", "false", "file:PATH destination: append to an existing file instead of truncating it at start (the default, so a rerun replaces its output).", isSwitch: true);
    public static readonly OptionSpec Marshal = new("marshal", Sink.Marshal, $"Encoding: {string.Join(", ", MarshallerFactory.Names)}.");
    public static readonly OptionSpec Topic = new("topic", Sink.Topic, "Kafka topic.");
    public static readonly OptionSpec Columns = new("columns", "", "csv/tsv: comma-separated lowerCamelCase field names (empty = all).");
    public static readonly OptionSpec Attributes = new("attributes", "default", "inet_diag attributes to request: default (all but meminfo), all, none, or a list such as info,cong,skmem.");
    public static readonly OptionSpec States = new("states", "default", "TCP states to dump: default (all but bound-inactive, as ss -a), all, or a list such as established,listen.");
    public static readonly OptionSpec NetnsDirs = new("netns-dirs", string.Join(",", Loop.NetnsDirs), "Comma-separated directories of netns bind mounts (watched).");
    public static readonly OptionSpec ProcScan = new("proc-scan", Text(Loop.ProcScan), "Also discover namespaces via /proc/<pid>/ns/net (needs CAP_SYS_PTRACE).", isSwitch: true);
    public static readonly OptionSpec GcAfterCloses = new("gc-after-closes", Text(Loop.GcAfterCloses), $"After this many network namespaces have closed, one compacting garbage collection between two polls (at most once a minute) gives their memory back, so RSS follows the live namespaces under churn ({Range(CollectorOptions.GcAfterClosesRange)}; 0 = never).");
    public static readonly OptionSpec ReconcileInterval = new("reconcile-interval", GoDuration.Format(Loop.ReconcileInterval), "Rescan period that repairs missed namespace events.");
    public static readonly OptionSpec WalkInterval = new("walk-interval", GoDuration.Format(Loop.WalkInterval), "Longest time between two full walks of a namespace (staggered over namespaces). In between, known sockets are reported at every poll by exact lookup (own-table namespaces also dump their established table), and a namespace whose TCP counters hold sockets its lookups did not find walks in that poll. 0 = walk at every poll.");
    public static readonly OptionSpec SharedTablesRefresh = new("shared-tables-refresh", "", "Deprecated: the old name of --walk-interval (its value is used as --walk-interval, with a warning).", replacedBy: WalkInterval);
    public static readonly NameSet EmitNames = new("all", "changed");
    public static readonly OptionSpec Emit = new("emit", Loop.Emit == EmitMode.Changed ? "changed" : "all", "Which poll records to send: all (every socket at every poll, as xtcp2) or changed (a socket when a counted field changed, at first sight, and once per --keyframe-interval; record_reason says which).");
    public static readonly OptionSpec KeyframeInterval = new("keyframe-interval", GoDuration.Format(Loop.KeyframeInterval), "--emit changed: every live socket is sent at least once per this interval, staggered over polls; at least --frequency.");
    public static readonly OptionSpec DestroyEvents = new("destroy-events", Text(Loop.DestroyEvents), "Record every TCP socket of every namespace when it closes, with its final counters (kernel destroy events; a second netlink socket per namespace).", isSwitch: true);
    public static readonly OptionSpec ContainerAttribution = new("container-attribution", Text(Loop.ContainerAttribution), "Stamp records with the container and pod owning each socket (container_id, container_runtime, pod_uid): from the socket's cgroup, else from a process of its namespace.", isSwitch: true);
    public static readonly OptionSpec CgroupRoot = new("cgroup-root", Loop.CgroupRoot ?? "auto", "Mount point of the cgroup v2 hierarchy socket cgroup ids refer to: auto (from /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts), a directory, or none (attribute by namespace only).");
    public static readonly OptionSpec PodLogsDir = new("pod-logs-dir", Loop.PodLogsDir, "The kubelet's pod log directory (namespace_pod_uid entries): pod names and namespaces for pod uids; none = do not look.");
    public static readonly OptionSpec ContainerLogsDir = new("container-logs-dir", Loop.ContainerLogsDir, "The kubelet's container log links (pod_namespace_container-id.log): container names for container ids; none = do not look.");
    public static readonly OptionSpec CgroupRefresh = new("cgroup-refresh", GoDuration.Format(Loop.CgroupRefresh), $"Smallest interval between two walks of the cgroup hierarchy (asked for by sockets of unknown cgroups and by new namespaces); >= {GoDuration.Format(CollectorOptions.CgroupRefreshFloor.Min)}.");
    public static readonly OptionSpec Workers = new("workers", Text(Loop.Workers), $"Worker lanes ({Range(CollectorOptions.WorkersRange)}).");
    public static readonly NameSet RequestNames = new("compat", "v2");
    public static readonly OptionSpec Request = new("request", Loop.Request == RequestMode.V2 ? "v2" : "compat", "Dump request: compat (one walk for IPv4+IPv6) or v2 (one walk per family).");
    public static readonly OptionSpec Spread = new("spread", Text(Loop.Spread), "Pace namespace dumps over the poll period instead of all at the tick.", isSwitch: true);
    public static readonly OptionSpec EnvelopeFlushBytes = new("envelope-flush-bytes", Text(Sink.EnvelopeFlushBytes), "Flush an envelope at this many encoded bytes.");
    public static readonly OptionSpec EnvelopeFlushRows = new("envelope-flush-rows", Text(Sink.EnvelopeFlushRows), "Flush an envelope at this many rows.");
    public static readonly OptionSpec KafkaCompression = new("kafka-compression", Sink.KafkaCompression, $"Kafka compression: {string.Join(", ", KafkaProducerSettings.Compressions.Names)}.");
    public static readonly OptionSpec KafkaQueueMaxEnvelopes = new("kafka-queue-max-envelopes", Text(Sink.KafkaQueueMaxEnvelopes), "Envelopes held in memory while Kafka is unreachable; beyond it the oldest are dropped.");
    public static readonly OptionSpec KafkaQueueMaxBytes = new("kafka-queue-max-bytes", Text(Sink.KafkaQueueMaxBytes), "Byte bound of the same Kafka queue (at least --envelope-flush-bytes).");
    public static readonly OptionSpec SinkQueueEnvelopes = new("sink-queue-envelopes", Text(Sink.SinkQueueEnvelopes), "Flushed envelopes that may wait for the sink thread; beyond it collection waits (bounded memory).");

    // Secured destinations: librdkafka properties (TLS, SASL), and for http(s) the outage queue, trust,
    // client certificate and headers. A value written @/path is read from that file (secrets stay off the
    // command line and out of the environment).
    public static readonly OptionSpec KafkaConfig = new("kafka-config", "", "librdkafka property KEY=VALUE (TLS, SASL, tuning), e.g. security.protocol=SASL_SSL; wins over --kafka-config-file; VALUE @/path reads that file.", isRepeatable: true);
    public static readonly OptionSpec KafkaConfigFile = new("kafka-config-file", "", "librdkafka properties file: KEY=VALUE per line, # comments (empty = none).");
    public static readonly OptionSpec HttpQueueMaxEnvelopes = new("http-queue-max-envelopes", Text(Sink.HttpQueueMaxEnvelopes), "Envelopes held while the http(s) endpoint is unreachable or refusing; beyond it the oldest are dropped.");
    public static readonly OptionSpec HttpQueueMaxBytes = new("http-queue-max-bytes", Text(Sink.HttpQueueMaxBytes), "Byte bound of the same http(s) queue (at least --envelope-flush-bytes).");
    public static readonly OptionSpec HttpCaFile = new("http-ca-file", "", "PEM bundle of CAs trusted for https:// in addition to the system store.");
    public static readonly OptionSpec HttpClientCert = new("http-client-cert", "", "PEM client certificate (and intermediates) for mutual TLS, with --http-client-key.");
    public static readonly OptionSpec HttpClientKey = new("http-client-key", "", "Unencrypted PEM private key of --http-client-cert (keep it mode 600).");
    public static readonly OptionSpec HttpHeader = new("http-header", "", "NAME=VALUE header on every POST, e.g. Authorization=@/etc/xtcp-epoll/http-auth; VALUE @/path reads that file.", isRepeatable: true);

    public static readonly OptionSpec Hostname = new("hostname", "", "Hostname stamped on records (empty = this machine's name).");
    public static readonly OptionSpec Label = new("label", "", $"Free text stamped on records (max {RecordStampRules.MaxLabel} characters).");
    public static readonly OptionSpec Tag = new("tag", "", $"Free text stamped on records (max {RecordStampRules.MaxTag} characters).");
    public static readonly OptionSpec Location = new("location", "", $"Free text stamped on records (max {RecordStampRules.MaxLocation} characters).");
    public static readonly OptionSpec MetricsListen = new("metrics-listen", "127.0.0.1:9088", "HOST:PORT of /metrics, /healthz, /readyz (empty = disabled).");
    public static readonly NameSet LogLevelNames = new("trace", "debug", "info", "warn", "error");
    public static readonly OptionSpec LogLevel = new("log-level", "info", string.Join(", ", LogLevelNames.Names) + ".");
    public static readonly OptionSpec ShutdownTimeout = new("shutdown-timeout", "10s", "Bound on flushing the envelope and the sink at SIGTERM.");
    // The control plane (xtcp2's gRPC services; `xtcp-epoll ctl` and `watch` find the daemon with the same options).
    public static readonly OptionSpec ControlSocket = new("control-socket", "/run/xtcp-epoll/control.sock", "Unix socket of the gRPC control plane (ConfigService, XTCPFlatRecordService; mode 0660, owner root); empty = none.");
    public static readonly OptionSpec GrpcListen = new("grpc-listen", "", "Also serve gRPC on TCP: PORT (on 127.0.0.1) or HOST:PORT as --metrics-listen; empty = unix socket only.");
    public static readonly OptionSpec GrpcTlsCert = new("grpc-tls-cert", "", "PEM certificate (and intermediates) of this side of a TCP gRPC connection: the daemon's server certificate (TLS on --grpc-listen), or ctl/watch's client certificate.");
    public static readonly OptionSpec GrpcTlsKey = new("grpc-tls-key", "", "Unencrypted PEM private key of --grpc-tls-cert (keep it mode 600).");
    public static readonly OptionSpec GrpcTlsCa = new("grpc-tls-ca", "", "PEM bundle of the CAs trusted for the other side: the daemon then requires client certificates they signed; ctl/watch trust the daemon's certificate by them (and connect with TLS).");
    public static readonly OptionSpec StreamQueue = new("stream-queue", "8192", "Records queued per stream client (FlatRecords, PollFlatRecords, `watch`); a client that lets 4x this many drop in a row is disconnected.");
    public static readonly IntegerRange StreamQueueRange = new(1, 1_000_000);
    public static readonly OptionSpec PrintConfig = new("print-config", "false", "Print the effective configuration (key: value) and exit.", isSwitch: true);

    /// <summary>The secured-destination options, shared by collect and replay.</summary>
    private static readonly OptionSpec[] Secured =
        [KafkaConfig, KafkaConfigFile, HttpQueueMaxEnvelopes, HttpQueueMaxBytes, HttpCaFile, HttpClientCert, HttpClientKey, HttpHeader];

    /// <summary>Options of `collect` (and of the root command, since collect is the default).</summary>
    public static readonly IReadOnlyList<OptionSpec> Collect =
    [
        Frequency, Timeout, JitterPct, MaxLoops, Dest, FileAppend, Marshal, Topic, Columns, Attributes, States, NetnsDirs,
        ProcScan, ReconcileInterval, GcAfterCloses, Workers, Request, Spread, WalkInterval, Emit, KeyframeInterval, DestroyEvents, ContainerAttribution, CgroupRoot, CgroupRefresh,
        PodLogsDir, ContainerLogsDir, EnvelopeFlushBytes, EnvelopeFlushRows,
        KafkaCompression, KafkaQueueMaxEnvelopes, KafkaQueueMaxBytes, SinkQueueEnvelopes,
        .. Secured,
        Hostname, Label, Tag, Location, MetricsListen, LogLevel, ShutdownTimeout, PrintConfig, SharedTablesRefresh,
        ControlSocket, GrpcListen, GrpcTlsCert, GrpcTlsKey, GrpcTlsCa, StreamQueue,
    ];

    /// <summary>Options of `ctl` and `watch`: where the daemon's control plane is.</summary>
    public static readonly IReadOnlyList<OptionSpec> Client = [ControlSocket, GrpcListen, GrpcTlsCert, GrpcTlsKey, GrpcTlsCa];

    /// <summary>Options of `replay`: the same record stamping and output path as live collection.</summary>
    public static readonly IReadOnlyList<OptionSpec> Replay =
    [
        Dest, FileAppend, Marshal, Topic, Columns, EnvelopeFlushBytes, EnvelopeFlushRows, KafkaCompression,
        KafkaQueueMaxEnvelopes, KafkaQueueMaxBytes, SinkQueueEnvelopes,
        .. Secured,
        Hostname, Label, Tag, Location, LogLevel, ShutdownTimeout, PrintConfig,
    ];

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
    private static string Text(bool value) => value ? "true" : "false";
    private static string Range(IntegerRange range) => $"{Text(range.Min)}-{Text(range.Max)}";
}
