using XtcpEpoll.Netlink.Native;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// Gives pod attributions their names (pod name and namespace, container name) from the kubelet's log tree
/// (<see cref="KubeletLogTree"/>). A new attribution is named at once from what the last scan saw; one still
/// lacking a name (its pod's directory or its container's log link not written yet: the kubelet links a
/// container's log after the container started, while its cgroup is found at once) waits, and later scans
/// <see cref="RecordAttribution.Supersede"/> it with a named one. A scan happens only while something waits:
/// retried 1 s, 2 s, 4 s … after the attribution appeared, given up after <see cref="GiveUpAfter"/> (a pod's
/// sandbox never gets a container name: its pod names are set at the first scan that sees the pod).
/// Runs on the attribution thread only.
/// </summary>
internal sealed class PodNamer
{
    /// <summary>An attribution still missing a name is not looked for after this long.</summary>
    internal static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);
    /// <summary>Smallest gap between two scans of the log tree.</summary>
    internal static readonly TimeSpan MinScanGap = TimeSpan.FromSeconds(1);
    /// <summary>Bound on attributions waiting for names (past it the oldest wait is dropped).</summary>
    internal const int MaxWaiting = 16_384;

    private readonly KubeletLogTree _tree;
    private readonly ILogger _logger;
    private readonly Dictionary<RecordAttribution, Waiting> _waiting = new(ReferenceEqualityComparer.Instance);
    private long _lastScan = long.MinValue / 2;
    private bool _podDirLogged, _containerDirLogged;

    private sealed class Waiting
    {
        public required long Since { get; init; }
        public long NextAttempt;
    }

    public PodNamer(KubeletLogTree tree, ILogger logger)
    {
        _tree = tree;
        _logger = logger;
    }

    /// <summary>Attributions waiting for a name.</summary>
    public int WaitingCount => _waiting.Count;

    /// <summary>
    /// <paramref name="unnamed"/> (just made by the interner) with the names known now; the unnamed object itself
    /// when none are known. Either way it is kept waiting when a name is still missing.
    /// </summary>
    public RecordAttribution Name(RecordAttribution unnamed)
    {
        if (unnamed.PodUid.Length == 0) return unnamed; // a container of no pod has no Kubernetes names
        var named = WithNames(unnamed, unnamed);
        var result = named ?? unnamed;
        if (!Complete(named))
        {
            long now = Stopwatch.GetTimestamp();
            if (_waiting.Count >= MaxWaiting) _waiting.Clear();
            _waiting[result] = new Waiting { Since = now, NextAttempt = now + MonotonicClock.Ticks(MinScanGap) };
        }
        return result;
    }

    /// <summary>When the next scan is due (Stopwatch ticks), long.MaxValue when nothing waits.</summary>
    public long DueAt()
    {
        if (_waiting.Count == 0) return long.MaxValue;
        long earliest = long.MaxValue;
        foreach (var w in _waiting.Values) earliest = Math.Min(earliest, w.NextAttempt);
        return Math.Max(earliest, _lastScan + MonotonicClock.Ticks(MinScanGap));
    }

    /// <summary>Scans the log tree now; new attributions are named from what it saw (waiting ones only by <see cref="Refresh"/>).</summary>
    public void Scan()
    {
        long start = Stopwatch.GetTimestamp();
        _lastScan = start;
        var result = _tree.Scan();
        AttributionMetrics.LogScans.Inc();
        AttributionMetrics.LogScanSeconds.Inc(Stopwatch.GetElapsedTime(start).TotalSeconds);
        if (result.Malformed > 0) AttributionMetrics.LogNameMalformed.Inc(result.Malformed);
        if (result.UnreadablePodDir != null) Unreadable(result.UnreadablePodDir, "--pod-logs-dir", ref _podDirLogged);
        if (result.UnreadableContainerDir != null) Unreadable(result.UnreadableContainerDir, "--container-logs-dir", ref _containerDirLogged);
        AttributionMetrics.PodsNamed.Set(result.Pods);
    }

    /// <summary>If a waiting attribution is due: <see cref="Refresh"/>.</summary>
    public void RunIfDue()
    {
        if (Stopwatch.GetTimestamp() < DueAt()) return;
        Refresh();
    }

    /// <summary>
    /// One scan now, then every waiting attribution gets what it shows, due or not. The initial pass starts with
    /// it: a walk or /proc pass that ran before the tree was first read (the opener runs one 50 ms after the
    /// first namespace opens, which under load can come before the initial pass) interned its attributions
    /// unnamed, and the interner hands out those objects from then on; only a supersede names them, and their
    /// own retry is 1 s away, after the first poll.
    /// </summary>
    public void Refresh()
    {
        Scan();
        long now = Stopwatch.GetTimestamp();
        List<RecordAttribution>? settled = null;
        foreach (var (held, w) in _waiting)
        {
            var latest = held.Latest;
            var named = WithNames(held, latest);
            if (named != null && MoreNames(named, latest)) latest.Supersede(named);
            if (Complete(named) || now - w.Since >= MonotonicClock.Ticks(GiveUpAfter)) (settled ??= new()).Add(held);
            else w.NextAttempt = AttributionService.NextAttempt(w.Since, now);
        }
        if (settled != null) foreach (var a in settled) _waiting.Remove(a);
    }

    /// <summary>The same ids with every name the tree knows (else <paramref name="known"/>'s), or null when there are none.</summary>
    private RecordAttribution? WithNames(RecordAttribution a, RecordAttribution known)
    {
        string podName = known.PodName, podNamespace = known.PodNamespace, containerName = known.ContainerName;
        if (_tree.TryPod(a.PodUid, out var pod))
        {
            podName = pod.Name;
            podNamespace = pod.Namespace;
        }
        // The link's uid must agree: a container id named under another pod is not this one's.
        if (a.ContainerId.Length != 0 && _tree.TryContainer(a.ContainerId, out var container)
            && (container.PodUid.Length == 0 || container.PodUid == a.PodUid))
            containerName = container.Name;
        if (podName.Length == 0 && containerName.Length == 0) return null;
        return RecordAttribution.Create(a.ContainerId, a.ContainerRuntime, a.PodUid, containerName, podName, podNamespace);
    }

    /// <summary>Pod names known, and a container name for a container (a pod-level attribution has none to wait for).</summary>
    private static bool Complete(RecordAttribution? named) =>
        named != null && named.PodName.Length != 0 && (named.ContainerId.Length == 0 || named.ContainerName.Length != 0);

    private static bool MoreNames(RecordAttribution candidate, RecordAttribution current) =>
        (candidate.PodName.Length != 0 && current.PodName.Length == 0)
        || (candidate.ContainerName.Length != 0 && current.ContainerName.Length == 0);

    private void Unreadable(string dir, string option, ref bool logged)
    {
        AttributionMetrics.LogDirUnreadable.Inc();
        if (!logged)
            _logger.LogWarning("cannot read the kubelet's log directory {Dir}: records carry pod uids and container ids without pod and container names; mount it, or set {Option} to where the kubelet writes it (none: do not look)",
                dir, option);
        logged = true;
    }

}
