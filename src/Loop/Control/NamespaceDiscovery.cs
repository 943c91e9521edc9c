using System.Diagnostics;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// Finding namespaces: the file-system I/O around the <see cref="NamespaceRegistry"/>. The start-up scan, the
/// reconcile scan on its timer, inotify events of the watched directories, and the re-probes of placeholder
/// paths; what they find goes to the registry. Owns the inotify fd and the reconcile timerfd (both in the
/// control thread's epoll). Owners: the control thread (every member).
/// </summary>
internal sealed class NamespaceDiscovery : IDisposable
{
    private readonly CollectorOptions _options;
    private readonly NamespaceScanner _scanner;
    private readonly NamespaceRegistry _registry;
    /// <summary>Null when inotify is unavailable (e.g. fs.inotify.max_user_instances reached): reconcile-only discovery.</summary>
    private readonly DirectoryWatcher? _watcher;
    private readonly TimerFd _reconcileFd;
    private readonly List<NamespaceCandidate> _scratch = new();
    private readonly List<string> _dueProbes = new();

    public NamespaceDiscovery(CollectorOptions options, NamespaceScanner scanner, NamespaceRegistry registry, Epoll epoll,
        ulong inotifyKey, ulong reconcileKey, ILogger logger)
    {
        _options = options;
        _scanner = scanner;
        _registry = registry;
        _reconcileFd = TimerFd.Create();
        try
        {
            try { _watcher = new DirectoryWatcher(options.NetnsDirs); }
            catch (InvalidOperationException ex)
            {
                logger.LogWarning("inotify unavailable ({Error}): namespaces are discovered by the reconcile scan only, every {Interval}s; raise fs.inotify.max_user_instances to fix",
                    ex.Message, options.ReconcileInterval.TotalSeconds);
            }
            if (_watcher != null) epoll.Add(_watcher.Fd, inotifyKey);
            epoll.Add(_reconcileFd.Handle, reconcileKey);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Start-up: the daemon's own namespace (with --include-host) and the first scan; the reconcile timer starts.</summary>
    public void Begin()
    {
        Scan();
        _registry.Begin(_options.IncludeHost ? _scanner.HostInode : null, _scratch, Stopwatch.GetTimestamp());
        _reconcileFd.ArmOnce(_options.ReconcileInterval);
    }

    /// <summary>The reconcile timer fired: a full scan, and the timer again.</summary>
    public void OnReconcileTimer()
    {
        _reconcileFd.Drain();
        Reconcile();
        _reconcileFd.ArmOnce(_options.ReconcileInterval);
    }

    /// <summary>The inotify fd is readable.</summary>
    public void OnWatchEvents() => _watcher?.ReadEvents(OnWatchEvent);

    /// <summary>Stats the placeholder paths whose re-probe is due (the control loop wakes for <see cref="NamespaceRegistry.NextProbeDue"/>).</summary>
    public void ProbeDuePlaceholders()
    {
        long now = Stopwatch.GetTimestamp();
        _dueProbes.Clear();
        _registry.CollectDueProbes(now, _dueProbes);
        foreach (var path in _dueProbes) _registry.OnProbed(NamespaceScanner.Probe(path, Path.GetFileName(path)), now);
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _reconcileFd.Dispose();
    }

    /// <summary>Full scan: new candidates are opened, vanished ones removed, failed ones retried.</summary>
    private void Reconcile()
    {
        _watcher?.EnsureWatches();
        int bindCount = Scan();
        _registry.Reconcile(_scratch, bindCount, Stopwatch.GetTimestamp());
    }

    /// <summary>Fills the scratch list with every candidate (bind mounts first); returns how many are bind mounts.</summary>
    private int Scan()
    {
        _scratch.Clear();
        foreach (var dir in _options.NetnsDirs) _scanner.ScanDirectory(dir, _scratch);
        int bindCount = _scratch.Count;
        if (_options.ProcScan) _scanner.ScanProc(_scratch);
        return bindCount;
    }

    private void OnWatchEvent(WatchEventKind kind, string path)
    {
        switch (kind)
        {
            case WatchEventKind.Appeared:
                _registry.OnAppeared(NamespaceScanner.Probe(path, Path.GetFileName(path)), Stopwatch.GetTimestamp());
                break;
            case WatchEventKind.Disappeared:
                _registry.OnPathGone(path);
                break;
            case WatchEventKind.DirectoryAppeared:
                _scratch.Clear();
                _scanner.ScanDirectory(path, _scratch);
                foreach (var candidate in _scratch) _registry.OnAppeared(candidate, Stopwatch.GetTimestamp());
                break;
            case WatchEventKind.Rescan:
                Reconcile();
                break;
        }
    }
}
