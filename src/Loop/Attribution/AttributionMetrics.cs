using Prometheus;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>Container/pod attribution metrics (default prometheus-net registry).</summary>
public static class AttributionMetrics
{
    public static readonly Counter CgroupLookups = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_cgroup_lookups_total",
        "Socket cgroup ids (INET_DIAG_CGROUP_ID) looked up in the cgroup cache, by result: hit (known: a container's, a pod's or neither), miss (unknown: a walk of the cgroup hierarchy is requested, at most one per --cgroup-refresh).",
        new CounterConfiguration { LabelNames = ["result"] });
    public static readonly Counter NamespaceLookups = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_namespace_lookups_total",
        "Namespaces looked for in a /proc pass, by result: hit (a process in it names a container or pod), miss (no such process yet: retried at growing intervals, at most every 5 min).",
        new CounterConfiguration { LabelNames = ["result"] });
    public static readonly Counter Records = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_records_total",
        "Records by where their container/pod came from: cgroup (the socket's own cgroup), namespace (a process of its namespace), none (no container).",
        new CounterConfiguration { LabelNames = ["source"] });
    public static readonly Counter CgroupWalks = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_cgroup_walks_total", "Walks of the cgroup v2 hierarchy (start-up, cache misses, new namespaces; at most one per --cgroup-refresh).");
    public static readonly Counter CgroupWalkSeconds = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_cgroup_walk_seconds_total", "Wall time spent walking the cgroup hierarchy.");
    public static readonly Gauge CgroupsCached = Prometheus.Metrics.CreateGauge(
        "xtcp_attribution_cgroups_cached", "Container and pod cgroups known to the cgroup cache after the last walk.");
    public static readonly Counter ProcScans = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_proc_scans_total", "Passes over /proc looking for processes of namespaces still without attribution (one pass serves every such namespace).");
    public static readonly Counter ProcScanSeconds = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_proc_scan_seconds_total", "Wall time spent in /proc passes.");
    public static readonly Counter LogScans = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_log_scans_total", "Reads of the kubelet's log tree (--pod-logs-dir, --container-logs-dir) for pod and container names: at start-up, and while an attribution waits for its names.");
    public static readonly Counter LogScanSeconds = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_log_scan_seconds_total", "Wall time spent reading the kubelet's log tree.");
    public static readonly Gauge PodsNamed = Prometheus.Metrics.CreateGauge(
        "xtcp_attribution_pods_named", "Pods whose names the last read of the kubelet's log tree found.");
    public static readonly Counter Errors = Prometheus.Metrics.CreateCounter(
        "xtcp_attribution_errors_total",
        "Attribution work that failed, by kind: cgroup_root (the cgroup v2 hierarchy is not there), proc_denied (a /proc pass could not read most processes' namespace: CAP_SYS_PTRACE missing), log_dir (a read of the kubelet's log tree found a directory missing or unreadable: no names), log_name (an entry of the log tree named unlike the kubelet names them: skipped, counted once), internal (a bug; logged).",
        new CounterConfiguration { LabelNames = ["kind"] });

    // Every label value below exists at 0 from the start, whether attribution is on or not and before its first
    // event: a series born at 1 has no increase() for alerts, and dashboards would show "no data". The Host
    // runs this type's initializer at start-up (HostMetrics.Initialize), like every metrics class's.
    public static readonly Counter.Child CgroupHits = CgroupLookups.WithLabels("hit");
    public static readonly Counter.Child CgroupMisses = CgroupLookups.WithLabels("miss");
    public static readonly Counter.Child NamespaceHits = NamespaceLookups.WithLabels("hit");
    public static readonly Counter.Child NamespaceMisses = NamespaceLookups.WithLabels("miss");
    public static readonly Counter.Child RecordsFromCgroup = Records.WithLabels("cgroup");
    public static readonly Counter.Child RecordsFromNamespace = Records.WithLabels("namespace");
    public static readonly Counter.Child RecordsWithout = Records.WithLabels("none");
    public static readonly Counter.Child CgroupRootMissing = Errors.WithLabels("cgroup_root");
    public static readonly Counter.Child ProcDenied = Errors.WithLabels("proc_denied");
    public static readonly Counter.Child LogDirUnreadable = Errors.WithLabels("log_dir");
    public static readonly Counter.Child LogNameMalformed = Errors.WithLabels("log_name");
    public static readonly Counter.Child InternalErrors = Errors.WithLabels("internal");
}
