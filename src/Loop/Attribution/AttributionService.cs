using System.Diagnostics;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>A namespace's container/pod, for the control thread's registry (applied only if the handle still matches).</summary>
internal readonly record struct NamespaceAttribution(ulong Inode, ulong HandleId, RecordAttribution Attribution);

/// <summary>
/// Which container and pod own each socket, kept off the hot path. Two sources:
/// <list type="bullet">
/// <item><b>namespaces</b>: the control thread reports each opened namespace (inode + handle id); one /proc pass
/// (<see cref="NamespaceProcessFinder"/>) serves every namespace still without attribution, and results go back to
/// the control thread, which stamps them into the namespace's RecordContext from the next poll on. A namespace
/// with no container process yet is retried 1 s, 2 s, 4 s … after its open, then every 5 min; once attributed it
/// keeps its attribution until it is removed (its processes may all exit). A namespace is identified by inode AND
/// handle id: a reused inode is a new handle, so it never inherits the attribution of the namespace before it.</item>
/// <item><b>socket cgroups</b>: <see cref="CgroupAttributionCache"/>, read by the parse workers; a miss or a new
/// namespace asks for a walk of the cgroup hierarchy, at most one per <c>cgroupRefresh</c>.</item>
/// </list>
/// All the work runs on the opener thread (<see cref="IOpenerSideWork"/>): no thread of its own, nothing on the
/// control thread's epoll loop or the lanes. Before the first poll the control thread asks for one full pass
/// (<see cref="RequestInitialPass"/>) so that the first poll is attributed too.
/// </summary>
internal sealed class AttributionService : IOpenerSideWork
{
    /// <summary>A namespace is looked for this long after its open, so a burst of opens shares one /proc pass.</summary>
    internal static readonly TimeSpan OpenCoalesce = TimeSpan.FromMilliseconds(50);
    /// <summary>Smallest gap between two /proc passes (each costs one stat per process of the host).</summary>
    internal static readonly TimeSpan MinProcScanGap = TimeSpan.FromMilliseconds(500);
    /// <summary>Longest wait between two looks at a namespace still without attribution.</summary>
    internal static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(5);

    private readonly long _cgroupRefreshTicks;
    private readonly CgroupWalker? _walker;
    private readonly ulong _rootInode;
    private readonly CgroupAttributionCache _cgroups = new();
    private readonly NamespaceProcessFinder _finder;
    private readonly AttributionInterner _interner;
    private readonly PodNamer? _namer;
    private readonly Action<List<NamespaceAttribution>> _publish;
    private readonly ILogger _logger;
    // Owners. Under _lock (control thread and opener thread): _pending, _opensSinceWalk, _initialDone.
    private readonly object _lock = new();
    private readonly Dictionary<ulong, Pending> _pending = new();
    private bool _opensSinceWalk;
    private Action? _initialDone;
    // The opener thread (the side work's thread) only:
    private long _lastWalk = long.MinValue / 2, _lastProcScan = long.MinValue / 2;
    private bool _rootMissingLogged, _deniedLogged;
    private long _internalErrors;
    /// <summary>Written by the opener thread (<see cref="Attach"/>), invoked from any thread.</summary>
    private volatile Action? _wake;

    private sealed class Pending
    {
        public required ulong HandleId { get; init; }
        public required long OpenedAt { get; init; }
        public long NextAttempt;
    }

    /// <param name="cgroupRoot">Mount point of the cgroup v2 hierarchy, or null: sockets are attributed by namespace only.</param>
    /// <param name="cgroupRefresh">Smallest interval between two walks of the hierarchy.</param>
    /// <param name="publish">Called on the attribution thread with namespaces newly attributed.</param>
    /// <param name="logTree">The kubelet's log tree pod and container names are read from, or null (ids only).</param>
    public AttributionService(string? cgroupRoot, TimeSpan cgroupRefresh, Action<List<NamespaceAttribution>> publish, ILogger logger,
        string procRoot = "/proc", KubeletLogTree? logTree = null)
    {
        _namer = logTree == null ? null : new PodNamer(logTree, logger);
        _interner = new AttributionInterner(_namer);
        _cgroupRefreshTicks = (long)(cgroupRefresh.TotalSeconds * Stopwatch.Frequency);
        _publish = publish;
        _logger = logger;
        _finder = new NamespaceProcessFinder(procRoot);
        if (cgroupRoot != null)
        {
            _walker = new CgroupWalker(cgroupRoot);
            _rootInode = Files.Stat(_walker.Root).Inode;
        }
        _cgroups.OnFirstMiss(() => _wake?.Invoke());
    }

    /// <summary>
    /// The service for these options, or null when --container-attribution is off. Resolves --cgroup-root:
    /// null = the cgroup2 mount found in /proc/self/mountinfo, "none" = namespace attribution only.
    /// </summary>
    public static AttributionService? Create(CollectorOptions options, Action<List<NamespaceAttribution>> publish, ILogger logger)
    {
        if (!options.ContainerAttribution) return null;
        string? root = options.CgroupRoot switch
        {
            null => CgroupRoot.Find(),
            "none" => null,
            var path => path,
        };
        if (root == null)
            logger.LogInformation("container attribution by namespace only: {Why}",
                options.CgroupRoot == "none" ? "--cgroup-root none" : "no cgroup2 hierarchy is mounted (set --cgroup-root if it is somewhere /proc/self/mountinfo does not show)");
        string? podLogs = options.PodLogsDir == "none" ? null : options.PodLogsDir;
        string? containerLogs = options.ContainerLogsDir == "none" ? null : options.ContainerLogsDir;
        var logTree = podLogs == null && containerLogs == null ? null : new KubeletLogTree(podLogs, containerLogs);
        return new AttributionService(root, options.CgroupRefresh, publish, logger, logTree: logTree);
    }

    /// <summary>The socket-cgroup cache the parse workers read (through their <see cref="SocketAttributor"/>).</summary>
    public CgroupAttributionCache Cgroups => _cgroups;

    /// <summary>Null when sockets are attributed by namespace only (no cgroup v2 hierarchy).</summary>
    public string? CgroupRootPath => _walker?.Root;

    // ------------------------------------------------------------ control thread

    /// <summary>A namespace was opened (or reopened: a new handle): look for its owner soon.</summary>
    public void NamespaceOpened(ulong inode, ulong handleId)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _pending[inode] = new Pending { HandleId = handleId, OpenedAt = now, NextAttempt = now + MonotonicClock.Ticks(OpenCoalesce) };
            _opensSinceWalk = true;
        }
        _wake?.Invoke();
    }

    /// <summary>The namespace (this handle of it) is gone: stop looking for it.</summary>
    public void NamespaceRemoved(ulong inode, ulong handleId)
    {
        lock (_lock)
        {
            if (_pending.TryGetValue(inode, out var p) && p.HandleId == handleId) _pending.Remove(inode);
        }
    }

    /// <summary>
    /// One pass over every namespace reported so far and one cgroup walk, now; <paramref name="done"/> is called
    /// (on the attribution thread) after their results were published, even if the pass failed.
    /// </summary>
    public void RequestInitialPass(Action done)
    {
        lock (_lock) _initialDone = done;
        _wake?.Invoke();
    }

    // ------------------------------------------------------------ attribution thread (IOpenerSideWork)

    public void Attach(Action wake) => _wake = wake;

    public long DueAt()
    {
        lock (_lock)
        {
            if (_initialDone != null) return 0;
            long due = long.MaxValue;
            if (_pending.Count > 0)
            {
                long earliest = long.MaxValue;
                foreach (var p in _pending.Values) earliest = Math.Min(earliest, p.NextAttempt);
                due = Math.Max(earliest, _lastProcScan + MonotonicClock.Ticks(MinProcScanGap));
            }
            if (_walker != null && (_opensSinceWalk || _cgroups.HasMisses))
                due = Math.Min(due, _lastWalk + _cgroupRefreshTicks);
            if (_namer != null) due = Math.Min(due, _namer.DueAt());
            return due;
        }
    }

    public void Run()
    {
        Action? done;
        lock (_lock)
        {
            done = _initialDone;
            _initialDone = null;
        }
        bool initial = done != null;
        try
        {
            long now = Stopwatch.GetTimestamp();
            bool walk;
            lock (_lock) walk = _walker != null && (initial || ((_opensSinceWalk || _cgroups.HasMisses) && now >= _lastWalk + _cgroupRefreshTicks));
            // So that the first walk and pass name what they find, and what an earlier pass found is named too.
            if (initial) _namer?.Refresh();
            if (walk) WalkCgroups();
            ScanNamespaces(initial);
            _namer?.RunIfDue();
        }
        catch (Exception ex)
        {
            AttributionMetrics.InternalErrors.Inc();
            if (_internalErrors++ % 100 == 0) _logger.LogError(ex, "container attribution failed; records keep the attribution known so far");
        }
        finally
        {
            done?.Invoke();
        }
    }

    private void WalkCgroups()
    {
        long start = Stopwatch.GetTimestamp();
        lock (_lock) _opensSinceWalk = false; // opens from now on ask for the next walk
        _lastWalk = start;
        var result = _cgroups.Refresh(_walker!, _interner, _rootInode);
        AttributionMetrics.CgroupWalks.Inc();
        AttributionMetrics.CgroupWalkSeconds.Inc(Stopwatch.GetElapsedTime(start).TotalSeconds);
        if (result.RootMissing)
        {
            AttributionMetrics.CgroupRootMissing.Inc();
            if (!_rootMissingLogged)
                _logger.LogWarning("cgroup v2 hierarchy {Root} is not there: sockets are attributed to containers by their namespace only; set --cgroup-root to where cgroup2 is mounted", _walker!.Root);
            _rootMissingLogged = true;
            return;
        }
        AttributionMetrics.CgroupsCached.Set(_cgroups.OwnedCount);
        if (result.Truncated)
            _logger.LogWarning("more than {Max} container and pod cgroups under {Root}: the rest are not attributed by cgroup", CgroupAttributionCache.MaxOwned, _walker!.Root);
    }

    private void ScanNamespaces(bool initial)
    {
        long now = Stopwatch.GetTimestamp();
        List<(ulong Inode, ulong HandleId)> batch;
        lock (_lock)
        {
            if (_pending.Count == 0) return;
            if (!initial)
            {
                if (now < _lastProcScan + MonotonicClock.Ticks(MinProcScanGap)) return;
                bool anyDue = false;
                foreach (var p in _pending.Values) anyDue |= p.NextAttempt <= now;
                if (!anyDue) return;
            }
            // Every namespace still without attribution rides along: the pass costs the same.
            batch = new List<(ulong, ulong)>(_pending.Count);
            foreach (var (inode, p) in _pending) batch.Add((inode, p.HandleId));
        }

        _lastProcScan = now;
        var wanted = new HashSet<ulong>(batch.Count);
        foreach (var (inode, _) in batch) wanted.Add(inode);
        var found = new Dictionary<ulong, NamespaceProcessFinder.Found>();
        var stats = _finder.Scan(wanted, found, _interner);
        AttributionMetrics.ProcScans.Inc();
        AttributionMetrics.ProcScanSeconds.Inc(Stopwatch.GetElapsedTime(now).TotalSeconds);
        // Without CAP_SYS_PTRACE nearly every other process is refused; with it, only the odd process in the middle
        // of exiting or exec'ing is (design/PERFORMANCE.md), which is no reason to warn.
        if (stats.Denied * 2 > stats.Processes)
        {
            AttributionMetrics.ProcDenied.Inc();
            if (!_deniedLogged)
                _logger.LogWarning("cannot read /proc/<pid>/ns/net of {Denied} of {Processes} processes (that needs CAP_SYS_PTRACE): namespaces they live in are attributed to containers through their sockets' cgroups only",
                    stats.Denied, stats.Processes);
            _deniedLogged = true;
        }

        var attributed = new List<NamespaceAttribution>();
        int misses = 0;
        long after = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            foreach (var (inode, handleId) in batch)
            {
                // Removed, or removed and reopened (a new handle) while we scanned: not this result's namespace.
                if (!_pending.TryGetValue(inode, out var p) || p.HandleId != handleId) continue;
                if (found.TryGetValue(inode, out var f) && !f.Attribution.IsNone)
                {
                    attributed.Add(new NamespaceAttribution(inode, handleId, f.Attribution));
                    _pending.Remove(inode);
                }
                else
                {
                    misses++;
                    p.NextAttempt = NextAttempt(p.OpenedAt, after);
                }
            }
        }
        if (attributed.Count > 0) AttributionMetrics.NamespaceHits.Inc(attributed.Count);
        if (misses > 0) AttributionMetrics.NamespaceMisses.Inc(misses);
        if (attributed.Count > 0) _publish(attributed);
    }

    /// <summary>1 s, 2 s, 4 s … after the open, then every <see cref="MaxRetry"/>: independent of how often passes run.</summary>
    internal static long NextAttempt(long openedAt, long now)
    {
        long step = Stopwatch.Frequency;
        long max = MonotonicClock.Ticks(MaxRetry);
        while (openedAt + step <= now && step < max) step *= 2;
        return step >= max ? now + max : openedAt + step;
    }
}
