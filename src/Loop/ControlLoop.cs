using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop;

/// <summary>
/// The "xtcp-control" thread: one epoll over the tick timerfd, a command eventfd, the inotify fd and the
/// reconcile timerfd. Owns the namespace registry (by nsfs inode), assigns namespaces to lanes, starts
/// polls and sees them end. Never blocks on anything but epoll_wait.
/// </summary>
internal sealed unsafe class ControlLoop
{
    private const ulong TickKey = 1, CommandKey = 2, InotifyKey = 3, ReconcileKey = 4;
    /// <summary>`ip netns add` creates an empty file, then bind-mounts: re-probe such a path soon, a few times.</summary>
    private static readonly TimeSpan[] PlaceholderRetries =
        [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1500)];
    private const int MaxOpenerRestarts = 3;

    private readonly CollectorOptions _options;
    private readonly IRecordSink _sink;
    private readonly ILogger _logger;
    private readonly Collector _owner;
    private readonly ParseErrorCounters _parseErrors;
    private readonly ConcurrentQueue<object> _commands = new();
    private readonly Dictionary<ulong, NamespaceEntry> _byInode = new();
    private readonly Dictionary<string, ulong> _inodeByBindPath = new();
    /// <summary>Paths that exist but are not (yet) an nsfs file: attempt index and when to re-probe.</summary>
    private readonly Dictionary<string, (int Attempt, long Due)> _placeholders = new();
    private readonly List<NamespaceCandidate> _scratch = new();
    private readonly List<NamespaceHandle>[] _laneTargets;
    private readonly Random _jitter = new();
    private NamespaceScanner _scanner = null!;
    /// <summary>Null when inotify is unavailable (e.g. fs.inotify.max_user_instances reached): reconcile-only discovery.</summary>
    private DirectoryWatcher? _watcher;
    private NamespaceOpener _opener = null!;
    /// <summary>Container/pod attribution (null when off); its work runs on the opener thread.</summary>
    private AttributionService? _attribution;
    /// <summary>The first poll waits for the initial attribution pass (so that it is attributed too).</summary>
    private bool _awaitingInitialAttribution;
    private Lane[] _lanes = [];
    private ParseWorker[] _workers = [];
    private Thread _thread = null!;
    private Epoll? _epoll;
    private TimerFd? _tickFd, _reconcileFd;
    private EventFd? _commandFd;
    private int _openerRestarts;
    private ulong _nextHandleId;
    private int _pollId;
    private PollTracker? _running;
    /// <summary>Inodes of the namespaces found at start-up whose open has not answered yet (null after the first poll started).</summary>
    private HashSet<ulong>? _initialWaiting;
    private bool _stopRequested, _shuttingDown, _commandFdClosed;
    private ParseErrorExporter? _parseErrorExporter;

    public ControlLoop(Collector owner, CollectorOptions options, IRecordSink sink, ILogger logger)
    {
        _owner = owner;
        _options = options;
        _sink = sink;
        _logger = logger;
        _parseErrors = new ParseErrorCounters();
        _laneTargets = new List<NamespaceHandle>[options.Workers];
        for (int i = 0; i < _laneTargets.Length; i++) _laneTargets[i] = new List<NamespaceHandle>();
    }

    public ParseErrorCounters ParseErrors => _parseErrors;

    /// <summary>Creates fds and threads (throws on failure, before anything runs).</summary>
    public void Start()
    {
        try { CreateResources(); }
        catch
        {
            ReleaseResources();
            throw;
        }
        foreach (var worker in _workers) worker.Start();
        foreach (var lane in _lanes) lane.Start();
        _thread = new Thread(Run) { IsBackground = true, Name = "xtcp-control" };
        _thread.Start();
    }

    /// <summary>Undoes a partial <see cref="CreateResources"/> (lane threads are not started yet).</summary>
    private void ReleaseResources()
    {
        _opener?.Dispose();
        foreach (var lane in _lanes) lane?.Dispose();
        _watcher?.Dispose();
        _reconcileFd?.Dispose();
        _tickFd?.Dispose();
        _commandFd?.Dispose();
        _epoll?.Dispose();
        _commandFdClosed = true;
    }

    private void CreateResources()
    {
        _scanner = new NamespaceScanner();
        _epoll = Epoll.Create();
        _tickFd = TimerFd.Create();
        _reconcileFd = TimerFd.Create();
        _commandFd = EventFd.Create();
        try { _watcher = new DirectoryWatcher(_options.NetnsDirs); }
        catch (InvalidOperationException ex)
        {
            _logger.LogWarning("inotify unavailable ({Error}): namespaces are discovered by the reconcile scan only, every {Interval}s; raise fs.inotify.max_user_instances to fix",
                ex.Message, _options.ReconcileInterval.TotalSeconds);
        }
        _epoll.Add(_tickFd.Handle, TickKey);
        _epoll.Add(_commandFd.Handle, CommandKey);
        if (_watcher != null) _epoll.Add(_watcher.Fd, InotifyKey);
        _epoll.Add(_reconcileFd.Handle, ReconcileKey);
        _parseErrorExporter = new ParseErrorExporter(_parseErrors);

        _attribution = AttributionService.Create(_options, attributed => Post(new NamespacesAttributed(attributed)), _logger);
        _opener = NewOpener();
        _lanes = new Lane[_options.Workers];
        _workers = new ParseWorker[_options.Workers];
        for (int i = 0; i < _lanes.Length; i++)
        {
            var pipe = new Pipe(new PipeOptions(
                pauseWriterThreshold: _options.PipeBytesPerLane,
                resumeWriterThreshold: _options.PipeBytesPerLane / 2,
                pool: new SegmentPool(256 * 1024),
                minimumSegmentSize: 256 * 1024,
                readerScheduler: PipeScheduler.Inline,
                writerScheduler: PipeScheduler.Inline,
                useSynchronizationContext: false));
            var plans = new ConcurrentQueue<LanePlan>();
            _lanes[i] = new Lane(i, _options, pipe.Writer, plans, OnStageFault, _logger);
            _workers[i] = new ParseWorker(i, pipe.Reader, plans, _sink, _parseErrors, new SocketAttributor(_attribution?.Cgroups),
                OnPollEndedFromWorker, OnStageFault, _logger);
        }
    }

    public void Post(object command)
    {
        lock (_commands)
        {
            // After shutdown the fd number may belong to something else: never write to it then.
            if (_commandFdClosed) return;
            _commands.Enqueue(command);
            _commandFd!.Signal();
        }
    }

    /// <summary>A lane or parse worker died (a bug, not bad input): stop the collector with that fault.</summary>
    private void OnStageFault(Exception ex) => Post(new ControlCommand.Fault(ex));

    private NamespaceOpener NewOpener()
    {
        var opener = new NamespaceOpener(result => Post(result), _attribution);
        opener.PoisonedWithPending += (o, pending) => Post(new OpenerPoisoned(o, pending));
        return opener;
    }

    // ---------------------------------------------------------------- the loop

    private void Run()
    {
        Exception? fault = null;
        try
        {
            InitialDiscovery();
            _reconcileFd!.ArmOnce(_options.ReconcileInterval);
            Span<epoll_event> events = stackalloc epoll_event[16];
            while (!_shuttingDown)
            {
                int n = _epoll!.Wait(events, NextPlaceholderTimeoutMs());
                if (n < 0)
                {
                    if (-n == LibC.EINTR) continue;
                    throw new InvalidOperationException($"control epoll_wait errno {-n}");
                }
                for (int i = 0; i < n && !_shuttingDown; i++)
                {
                    switch (Epoll.Key(events[i]))
                    {
                        case TickKey: _tickFd!.Drain(); ArmTick(); StartPoll(); break;
                        case CommandKey: _commandFd!.Drain(); RunCommands(); break;
                        case InotifyKey: _watcher?.ReadEvents(OnWatchEvent); break;
                        case ReconcileKey: _reconcileFd!.Drain(); Reconcile(); _reconcileFd.ArmOnce(_options.ReconcileInterval); break;
                    }
                }
                if (!_shuttingDown) ProbeDuePlaceholders();
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "collector control loop failed");
            fault = ex;
        }
        Shutdown(fault);
    }

    private void RunCommands()
    {
        while (!_shuttingDown && _commands.TryDequeue(out var command))
        {
            switch (command)
            {
                case OpenResult result: OnOpenResult(result); break;
                case PollTracker ended: OnPollEnded(ended); break;
                case OpenerPoisoned poisoned: OnOpenerPoisoned(poisoned); break;
                case NamespacesAttributed attributed: OnNamespacesAttributed(attributed.List); break;
                case InitialAttributionDone: _awaitingInitialAttribution = false; BeginPolling(); break;
                case ControlCommand.TriggerPoll: StartPoll(); break;
                case ControlCommand.Fault fault: throw new InvalidOperationException("a collector stage failed", fault.Exception);
                case ControlCommand.Snapshot snapshot: snapshot.Reply.TrySetResult(Snapshot()); break;
                case ControlCommand.Stop:
                    _stopRequested = true;
                    _tickFd!.Disarm();
                    if (_running == null) _shuttingDown = true;
                    break;
            }
        }
    }

    // ---------------------------------------------------------------- discovery

    private void InitialDiscovery()
    {
        _initialWaiting = new HashSet<ulong>();
        if (_options.IncludeHost)
        {
            var host = new NamespaceEntry { Inode = _scanner.HostInode, Name = "host", IsHost = true, OpenPath = "/proc/self/ns/net" };
            _byInode[host.Inode] = host;
            RequestOpen(host);
            _initialWaiting.Add(host.Inode);
        }
        ScanAll(initial: true);
        if (_initialWaiting.Count == 0) OnInitialOpensDone();
    }

    /// <summary>Full scan: new candidates are opened, vanished ones removed, failed ones retried.</summary>
    private void Reconcile()
    {
        _watcher?.EnsureWatches();
        ScanAll(initial: false);
    }

    private void ScanAll(bool initial)
    {
        _scratch.Clear();
        foreach (var dir in _options.NetnsDirs) _scanner.ScanDirectory(dir, _scratch);
        int bindCount = _scratch.Count;
        if (_options.ProcScan) _scanner.ScanProc(_scratch);

        var seenInodes = new HashSet<ulong>();
        var seenBindPaths = new HashSet<string>();
        for (int i = 0; i < _scratch.Count; i++)
        {
            var candidate = _scratch[i];
            if (i < bindCount) seenBindPaths.Add(candidate.Path);
            if (_scanner.IsNamespace(candidate)) seenInodes.Add(candidate.Inode);
            OnCandidate(candidate, initial);
        }
        if (initial) return;

        // Paths gone (or now naming another namespace) and namespaces no source reports any more.
        var stale = new List<string>();
        foreach (var (path, inode) in _inodeByBindPath)
            if (!seenBindPaths.Contains(path) || !seenInodes.Contains(inode)) stale.Add(path);
        foreach (var path in stale) OnPathGone(path);
        var gone = new List<NamespaceEntry>();
        foreach (var entry in _byInode.Values)
        {
            if (entry.IsHost) continue;
            if (entry.BindPaths.Count == 0 && !(entry.FromProcScan && seenInodes.Contains(entry.Inode))) gone.Add(entry);
            else if (entry.Failed && !entry.Opening) RequestOpen(entry);
        }
        foreach (var entry in gone) RemoveEntry(entry);
        foreach (var path in new List<string>(_placeholders.Keys))
            if (!seenBindPaths.Contains(path)) _placeholders.Remove(path);
    }

    private void OnWatchEvent(WatchEventKind kind, string path)
    {
        switch (kind)
        {
            case WatchEventKind.Appeared:
                OnCandidate(NamespaceScanner.Probe(path, Path.GetFileName(path)), initial: false);
                break;
            case WatchEventKind.Disappeared:
                OnPathGone(path);
                break;
            case WatchEventKind.DirectoryAppeared:
                _scratch.Clear();
                _scanner.ScanDirectory(path, _scratch);
                foreach (var candidate in _scratch) OnCandidate(candidate, initial: false);
                break;
            case WatchEventKind.Rescan:
                Reconcile();
                break;
        }
    }

    private void OnCandidate(NamespaceCandidate candidate, bool initial)
    {
        bool isBind = candidate.BindName != null;
        if (!_scanner.IsNamespace(candidate))
        {
            // Not (yet) a namespace: `ip netns add`'s placeholder before its bind mount, or a stray file.
            if (isBind && candidate.Inode != 0 && !_placeholders.ContainsKey(candidate.Path))
                _placeholders[candidate.Path] = (0, Stopwatch.GetTimestamp() + Ticks(PlaceholderRetries[0]));
            return;
        }
        _placeholders.Remove(candidate.Path);
        if (isBind && _inodeByBindPath.TryGetValue(candidate.Path, out var known))
        {
            if (known == candidate.Inode) return;
            OnPathGone(candidate.Path); // the name now points at another namespace
        }
        if (_byInode.TryGetValue(candidate.Inode, out var entry))
        {
            if (!isBind) { entry.FromProcScan = true; return; }
            entry.BindPaths.Add(candidate.Path);
            _inodeByBindPath[candidate.Path] = candidate.Inode;
            if (entry.Name.StartsWith("netns:[", StringComparison.Ordinal)) entry.Name = candidate.BindName!;
            return;
        }
        entry = new NamespaceEntry
        {
            Inode = candidate.Inode,
            Name = candidate.BindName ?? $"netns:[{candidate.Inode}]",
            OpenPath = candidate.Path,
            FromProcScan = !isBind,
        };
        if (isBind)
        {
            entry.BindPaths.Add(candidate.Path);
            _inodeByBindPath[candidate.Path] = candidate.Inode;
        }
        _byInode[entry.Inode] = entry;
        RequestOpen(entry);
        if (initial) _initialWaiting?.Add(entry.Inode);
    }

    private void OnPathGone(string path)
    {
        _placeholders.Remove(path);
        if (!_inodeByBindPath.Remove(path, out var inode)) return;
        if (!_byInode.TryGetValue(inode, out var entry)) return;
        entry.BindPaths.Remove(path);
        if (entry.BindPaths.Count > 0)
        {
            if (entry.OpenPath == path) entry.OpenPath = First(entry.BindPaths);
            return;
        }
        if (!entry.IsHost && !entry.FromProcScan) RemoveEntry(entry);
    }

    private void RequestOpen(NamespaceEntry entry)
    {
        entry.Opening = true;
        entry.Failed = false;
        _opener.Enqueue(new OpenRequest(entry.OpenPath, entry.Inode));
    }

    private void ProbeDuePlaceholders()
    {
        if (_placeholders.Count == 0) return;
        long now = Stopwatch.GetTimestamp();
        List<string>? due = null;
        foreach (var (path, state) in _placeholders)
            if (state.Due <= now) (due ??= new()).Add(path);
        if (due == null) return;
        foreach (var path in due)
        {
            var candidate = NamespaceScanner.Probe(path, Path.GetFileName(path));
            if (_scanner.IsNamespace(candidate)) { OnCandidate(candidate, initial: false); continue; }
            var (attempt, _) = _placeholders[path];
            if (candidate.Inode == 0) { _placeholders.Remove(path); continue; } // gone
            if (++attempt < PlaceholderRetries.Length)
            {
                _placeholders[path] = (attempt, now + Ticks(PlaceholderRetries[attempt]));
                continue;
            }
            // Still not a namespace: let the opener try (and fail, counted); the next reconcile retries.
            _placeholders.Remove(path);
            _opener.Enqueue(new OpenRequest(path, 0));
        }
    }

    private int NextPlaceholderTimeoutMs()
    {
        if (_placeholders.Count == 0) return -1;
        long earliest = long.MaxValue;
        foreach (var state in _placeholders.Values) earliest = Math.Min(earliest, state.Due);
        long delta = earliest - Stopwatch.GetTimestamp();
        return delta <= 0 ? 0 : (int)Math.Min(int.MaxValue, delta * 1000 / Stopwatch.Frequency + 1);
    }

    // ---------------------------------------------------------------- opening and removal

    private void OnOpenResult(OpenResult result)
    {
        _byInode.TryGetValue(result.Request.ExpectedInode, out var entry);
        if (!result.Succeeded)
        {
            LoopMetrics.NamespaceOpenFailures.WithLabels(result.FailureReason!).Inc();
            _logger.LogWarning("cannot open network namespace {Path}: {Reason} (errno {Errno}); retrying at the next reconcile",
                result.Request.Path, result.FailureReason, result.Errno);
            if (entry != null && entry.Opening)
            {
                entry.Opening = false;
                entry.Failed = true;
                if (result.FailureReason is "vanished" or "inode_changed") RemoveEntry(entry);
            }
        }
        else if (entry == null || !entry.Opening || result.Inode != entry.Inode)
        {
            result.SocketFd?.Dispose(); // removed (or re-requested) while the opener worked
        }
        else
        {
            entry.Opening = false;
            var lane = LeastLoadedLane();
            var handle = new NamespaceHandle
            {
                Id = ++_nextHandleId, Inode = entry.Inode, Name = entry.Name, SocketFd = result.SocketFd!,
                Lane = lane.Index, TcpEhashEntries = result.TcpEhashEntries,
            };
            entry.Handle = handle;
            entry.Attribution = RecordAttribution.None; // a new handle never inherits (the inode may be reused)
            if (!entry.IsHost) _attribution?.NamespaceOpened(entry.Inode, handle.Id);
            lane.AssignedCount++;
            lane.Post(new LaneCommand.Add(handle));
            LoopMetrics.NamespaceOpens.Inc();
            UpdateNamespaceGauges();
        }
        if (_initialWaiting != null && _initialWaiting.Remove(result.Request.ExpectedInode) && _initialWaiting.Count == 0)
            OnInitialOpensDone();
    }

    private void RemoveEntry(NamespaceEntry entry)
    {
        _byInode.Remove(entry.Inode);
        foreach (var path in entry.BindPaths) _inodeByBindPath.Remove(path);
        entry.BindPaths.Clear();
        if (entry.Handle is { } handle)
        {
            entry.Handle = null;
            _attribution?.NamespaceRemoved(entry.Inode, handle.Id);
            var lane = _lanes[handle.Lane];
            lane.AssignedCount--;
            lane.Post(new LaneCommand.Remove(handle));
            LoopMetrics.NamespaceDeletes.Inc();
            UpdateNamespaceGauges();
        }
        entry.Opening = false;
    }

    private void OnOpenerPoisoned(OpenerPoisoned poisoned)
    {
        if (!ReferenceEquals(poisoned.Opener, _opener)) return;
        LoopMetrics.NamespaceOpenerRestarts.Inc();
        _logger.LogError("namespace opener thread could not return to its own namespace; it is abandoned and a new one started");
        poisoned.Opener.Dispose();
        if (++_openerRestarts > MaxOpenerRestarts)
            throw new InvalidOperationException($"namespace opener poisoned {_openerRestarts} times: setns back to the original namespace keeps failing");
        _opener = NewOpener();
        foreach (var request in poisoned.Pending) _opener.Enqueue(request);
    }

    /// <summary>
    /// Results of an attribution pass: applied to namespaces whose handle is still the one that was looked
    /// for (not removed, not reopened under a reused inode meanwhile). Contexts of later polls carry it.
    /// </summary>
    private void OnNamespacesAttributed(List<NamespaceAttribution> attributed)
    {
        foreach (var a in attributed)
        {
            if (_byInode.TryGetValue(a.Inode, out var entry) && entry.Handle?.Id == a.HandleId)
                entry.Attribution = a.Attribution;
        }
    }

    private List<NamespaceInfo> Snapshot()
    {
        var list = new List<NamespaceInfo>(_byInode.Count);
        foreach (var entry in _byInode.Values)
            list.Add(new NamespaceInfo(entry.Name, entry.Inode, entry.Handle != null, entry.Handle?.SharesHostTable ?? false, entry.Handle?.Lane ?? -1));
        return list;
    }

    private Lane LeastLoadedLane()
    {
        var best = _lanes[0];
        foreach (var lane in _lanes) if (lane.AssignedCount < best.AssignedCount) best = lane;
        return best;
    }

    private void UpdateNamespaceGauges()
    {
        int open = 0, sharing = 0;
        foreach (var entry in _byInode.Values)
        {
            if (entry.Handle == null) continue;
            open++;
            if (entry.Handle.SharesHostTable) sharing++;
        }
        _owner.NamespacesOpen = open;
        LoopMetrics.NamespacesOpen.Set(open);
        LoopMetrics.NamespacesSharingHostTable.Set(sharing);
    }

    private void OnInitialOpensDone()
    {
        _initialWaiting = null;
        int sharing = 0, open = 0;
        foreach (var entry in _byInode.Values)
        {
            if (entry.Handle == null) continue;
            open++;
            if (entry.Handle.SharesHostTable && !entry.IsHost) sharing++;
        }
        if (sharing > 0)
            _logger.LogWarning("{Sharing} of {Open} network namespaces share the host TCP hash table: set net.ipv4.tcp_child_ehash_entries (Linux 6.1+) before creating namespaces so each gets its own TCP hash table; dumps get ~60x cheaper",
                sharing, open);
        else
            _logger.LogInformation("{Open} network namespaces open; none shares the host TCP hash table", open);
        if (_attribution != null)
        {
            // One /proc pass and one cgroup walk first (tens of ms), so the first poll's records are attributed.
            _awaitingInitialAttribution = true;
            _attribution.RequestInitialPass(() => Post(new InitialAttributionDone()));
            return;
        }
        BeginPolling();
    }

    private void BeginPolling()
    {
        StartPoll();
        ArmTick();
    }

    // ---------------------------------------------------------------- polls

    private void ArmTick()
    {
        if (_stopRequested) return;
        double jitter = _options.JitterPct / 100.0 * (2 * _jitter.NextDouble() - 1);
        _tickFd!.ArmOnce(_options.Frequency * (1 + jitter));
    }

    private void StartPoll()
    {
        if (_stopRequested || _initialWaiting != null || _awaitingInitialAttribution) return;
        if (_running != null)
        {
            LoopMetrics.TicksSkipped.Inc();
            return;
        }
        foreach (var list in _laneTargets) list.Clear();
        foreach (var entry in _byInode.Values)
            if (entry.Handle is { } handle) _laneTargets[handle.Lane].Add(handle);

        long start = Stopwatch.GetTimestamp();
        long timestampNs = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100; // Unix ns (CLOCK_REALTIME)
        int namespaces = 0;
        foreach (var list in _laneTargets) namespaces += list.Count;
        var poll = new PollTracker
        {
            PollId = ++_pollId, TimestampNs = timestampNs, StartTimestamp = start, Namespaces = namespaces,
            LanesRemaining = _lanes.Length,
        };
        _running = poll;

        TimeSpan window = TimeSpan.Zero;
        if (_options.Spread)
        {
            window = _options.Frequency * (1 - _options.JitterPct / 100.0) - _options.Timeout;
            if (window < TimeSpan.Zero) window = TimeSpan.Zero;
        }
        long deadline = start + Ticks(window + _options.Timeout);
        for (int i = 0; i < _lanes.Length; i++)
        {
            var targets = _laneTargets[i].ToArray();
            var contexts = new RecordContext[targets.Length];
            for (int t = 0; t < targets.Length; t++) contexts[t] = ContextFor(targets[t], timestampNs);
            long interval = targets.Length > 0 && window > TimeSpan.Zero ? Math.Max(1, Ticks(window) / targets.Length) : 0;
            _lanes[i].Post(new LaneCommand.StartPoll(new LanePlan
            {
                Poll = poll, Targets = targets, Contexts = contexts, Deadline = deadline, SendInterval = interval,
            }));
        }
    }

    private RecordContext ContextFor(NamespaceHandle handle, long timestampNs)
    {
        _byInode.TryGetValue(handle.Inode, out var entry);
        return new RecordContext
        {
            Hostname = _options.Hostname, Netns = entry?.Name ?? handle.Name, NetnsInode = handle.Inode,
            TimestampNs = timestampNs, Label = _options.Label, Tag = _options.Tag, Location = _options.Location,
            DaemonVersion = _options.DaemonVersion, SocketFd = (ulong)handle.SocketFd.Number,
            Attribution = entry?.Attribution ?? RecordAttribution.None,
        };
    }

    /// <summary>Runs on a parse worker thread: hand the ended poll to the control thread.</summary>
    private void OnPollEndedFromWorker(PollTracker poll) => Post(poll);

    private void OnPollEnded(PollTracker poll)
    {
        ThreadAllocations.RecordCurrentThread();
        if (!ReferenceEquals(poll, _running)) return;
        _running = null;
        double seconds = Stopwatch.GetElapsedTime(poll.StartTimestamp).TotalSeconds;
        bool timedOut = poll.AnyTimeout != 0;
        LoopMetrics.Polls.WithLabels(timedOut ? "timeout" : "complete").Inc();
        LoopMetrics.PollDuration.Observe(seconds);
        LoopMetrics.LastPollDuration.Set(seconds);
        LoopMetrics.LastPollSockets.Set(poll.Sockets);
        LoopMetrics.LastPollNamespaces.Set(poll.Namespaces);
        _parseErrorExporter?.Export();
        ProcessStats.Publish();
        try { _owner.OnPollCompleted(poll.PollId, poll.TimestampNs, poll.Namespaces, poll.Sockets, timedOut, poll.DumpErrors); }
        catch (Exception ex) { _logger.LogError(ex, "a PollCompleted handler failed"); }
        if (_stopRequested || (_options.MaxLoops > 0 && _owner.PollsCompleted >= _options.MaxLoops))
        {
            _stopRequested = true;
            _shuttingDown = true;
        }
    }

    // ---------------------------------------------------------------- shutdown

    private void Shutdown(Exception? fault)
    {
        foreach (var lane in _lanes) lane.Post(new LaneCommand.Stop());
        foreach (var lane in _lanes) lane.Join();
        foreach (var worker in _workers) worker.Join();
        foreach (var lane in _lanes) lane.Dispose();
        _opener.Dispose();
        foreach (var entry in _byInode.Values) entry.Handle = null; // sockets were closed by their lanes
        _byInode.Clear();
        _inodeByBindPath.Clear();
        _owner.NamespacesOpen = 0;
        LoopMetrics.NamespacesOpen.Set(0);
        lock (_commands)
        {
            _commandFdClosed = true;
            _commandFd!.Dispose();
        }
        while (_commands.TryDequeue(out var left))
        {
            if (left is ControlCommand.Snapshot snapshot) snapshot.Reply.TrySetResult([]);
            else if (left is OpenResult { SocketFd: { } late }) late.Dispose(); // opened while stopping
        }
        _watcher?.Dispose();
        _reconcileFd!.Dispose();
        _tickFd!.Dispose();
        _epoll!.Dispose();
        _owner.OnStopped(fault);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static string First(HashSet<string> set)
    {
        foreach (var item in set) return item;
        return "";
    }

    private sealed record OpenerPoisoned(NamespaceOpener Opener, List<OpenRequest> Pending);
    private sealed record NamespacesAttributed(List<NamespaceAttribution> List);
    private sealed record InitialAttributionDone;
}

/// <summary>Commands posted to the control thread by the public API.</summary>
internal abstract record ControlCommand
{
    public sealed record TriggerPoll : ControlCommand;
    public sealed record Stop : ControlCommand;
    public sealed record Fault(Exception Exception) : ControlCommand;
    public sealed record Snapshot(TaskCompletionSource<IReadOnlyList<NamespaceInfo>> Reply) : ControlCommand;
}
