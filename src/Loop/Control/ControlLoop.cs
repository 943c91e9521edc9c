using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// The "xtcp-control" thread: the epoll shell around the <see cref="NamespaceRegistry"/> (which namespaces
/// exist) and the <see cref="PollCoordinator"/> (polls). It owns the fds and threads: one epoll over the tick
/// timerfd, the command eventfd, the inotify fd and the reconcile timerfd; the opener thread; the lanes and
/// their parse workers. It turns fd events into registry/coordinator calls, and their decisions into I/O
/// (opener requests, lane commands, closing unwanted sockets). Never blocks on anything but epoll_wait.
/// </summary>
internal sealed class ControlLoop : INamespaceRegistryActions
{
    private const ulong TickKey = 1, CommandKey = 2, InotifyKey = 3, ReconcileKey = 4;
    private const int MaxOpenerRestarts = 3;

    private readonly CollectorOptions _options;
    private readonly IRecordSink _sink;
    private readonly ILogger _logger;
    private readonly ParseErrorCounters _parseErrors = new();
    private readonly ConcurrentQueue<ControlCommand> _commands = new();
    private readonly List<NamespaceCandidate> _scratch = new();
    private readonly List<string> _dueProbes = new();
    private readonly Random _jitter = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NamespaceScanner _scanner = null!;
    private NamespaceRegistry _registry = null!;
    private PollCoordinator _polls = null!;
    /// <summary>Null when inotify is unavailable (e.g. fs.inotify.max_user_instances reached): reconcile-only discovery.</summary>
    private DirectoryWatcher? _watcher;
    private NamespaceOpener _opener = null!;
    /// <summary>Container/pod attribution (null when off); its work runs on the opener thread.</summary>
    private AttributionService? _attribution;
    /// <summary>The first poll waits for the first attribution pass (so that it is attributed too).</summary>
    private bool _awaitingInitialAttribution;
    private Lane[] _lanes = [];
    private ParseWorker[] _workers = [];
    private Thread _thread = null!;
    private Epoll? _epoll;
    private TimerFd? _tickFd, _reconcileFd;
    private EventFd? _commandFd;
    private int _openerRestarts;
    private int _counterOpenWarnings;
    private int _destroySubscriptionWarnings;
    private bool _stopRequested, _shuttingDown, _commandFdClosed;
    private int _namespacesOpen;
    private long _pollsCompleted;
    /// <summary>A trigger that came while a poll ran: it starts when that poll ends (one at most).</summary>
    private PollTrigger? _queuedTrigger;
    /// <summary>Who waits for the next poll to start (TriggerPoll replies).</summary>
    private readonly List<TaskCompletionSource<long>> _startWaiters = new();

    public ControlLoop(CollectorOptions options, IRecordSink sink, ILogger logger)
    {
        _options = options;
        _sink = sink;
        _logger = logger;
    }

    /// <summary>Completes when the loop has stopped (after MaxLoops polls, a stop request or a fault).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Namespaces with an open, verified socket (any thread).</summary>
    public int NamespacesOpen => Volatile.Read(ref _namespacesOpen);

    /// <summary>Polls ended so far (any thread).</summary>
    public long PollsCompleted => Volatile.Read(ref _pollsCompleted);

    /// <summary>Raised on the control thread after each poll's EndOfPoll.</summary>
    public event Action<PollSummary>? PollCompleted;

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

    /// <summary>Stopped before it ever started: completes at once.</summary>
    public void CompleteUnstarted() => _completion.TrySetResult();

    /// <summary>Queues a command for the control thread (any thread; ignored once the loop has shut down).</summary>
    public void Post(ControlCommand command)
    {
        lock (_commands)
        {
            // After shutdown the fd number may belong to something else: never write to it then.
            if (_commandFdClosed) return;
            _commands.Enqueue(command);
            _commandFd!.Signal();
        }
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
        _registry = new NamespaceRegistry(_scanner.NsfsDev, this);
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

        _attribution = AttributionService.Create(_options, attributed => Post(new ControlCommand.NamespacesAttributed(attributed)), _logger);
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
            var plans = new PlanSlot();
            var eventSources = new EventSources();
            int lane = i;
            _lanes[i] = new Lane(i, _options, pipe.Writer, plans, eventSources, OnStageFault, _logger);
            var decoder = new DumpDecoder(_sink, _parseErrors, (ulong)i, _logger, new SocketAttributor(_attribution?.Cgroups)) { Keyframes = _options.KeyframeScheduleOrNull() };
            _workers[i] = new ParseWorker(i, pipe.Reader, plans, eventSources, decoder,
                (pollId, counts) => Post(new ControlCommand.LaneDone(lane, pollId, counts)), OnStageFault, _logger);
        }
        _polls = new PollCoordinator(_options, _lanes, _sink, _parseErrors, _logger);
    }

    /// <summary>A lane or parse worker died (a bug, not bad input): stop the collector with that fault.</summary>
    private void OnStageFault(Exception ex) => Post(new ControlCommand.StageFailed(ex));

    private NamespaceOpener NewOpener()
    {
        var opener = new NamespaceOpener(result => Post(new ControlCommand.Opened(result)), _attribution, _options.DestroyEvents,
            tcpCounters: _options.WalkInterval > TimeSpan.Zero);
        opener.PoisonedWithPending += (o, pending) => Post(new ControlCommand.OpenerPoisoned(o, pending));
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
                int n = _epoll!.WaitUntil(events, _registry.NextProbeDue, "control loop");
                for (int i = 0; i < n && !_shuttingDown; i++)
                {
                    switch (Epoll.Key(events[i]))
                    {
                        case TickKey: _tickFd!.Drain(); ArmTick(); StartPoll(); break;
                        case CommandKey: _commandFd!.Drain(); RunCommands(); break;
                        case InotifyKey: _watcher?.ReadEvents(OnWatchEvent); break;
                        case ReconcileKey: _reconcileFd.Drain(); Reconcile(); _reconcileFd.ArmOnce(_options.ReconcileInterval); break;
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
                case ControlCommand.Opened opened: OnOpened(opened.Result); break;
                case ControlCommand.LaneDone done: OnLaneDone(done); break;
                case ControlCommand.OpenerPoisoned poisoned: OnOpenerPoisoned(poisoned); break;
                case ControlCommand.NamespacesAttributed attributed: OnNamespacesAttributed(attributed.Attributed); break;
                case ControlCommand.InitialAttributionDone: _awaitingInitialAttribution = false; BeginPolling(); break;
                case ControlCommand.TriggerPoll trigger: OnTriggerPoll(trigger); break;
                case ControlCommand.SetPollFrequency change: OnSetPollFrequency(change); break;
                case ControlCommand.Snapshot snapshot: snapshot.Reply.TrySetResult(_registry.Snapshot()); break;
                case ControlCommand.StageFailed failed: throw new InvalidOperationException("a collector stage failed", failed.Exception);
                case ControlCommand.Stop:
                    _stopRequested = true;
                    _tickFd!.Disarm();
                    if (!_polls.PollRunning) _shuttingDown = true;
                    break;
                default: throw new UnreachableException($"unknown control command {command}");
            }
        }
    }

    // ---------------------------------------------------------------- discovery (I/O around the registry)

    private void InitialDiscovery()
    {
        Scan();
        _registry.Begin(_options.IncludeHost ? _scanner.HostInode : null, _scratch, Stopwatch.GetTimestamp());
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

    private void ProbeDuePlaceholders()
    {
        long now = Stopwatch.GetTimestamp();
        _dueProbes.Clear();
        _registry.CollectDueProbes(now, _dueProbes);
        foreach (var path in _dueProbes) _registry.OnProbed(NamespaceScanner.Probe(path, Path.GetFileName(path)), now);
    }

    private void OnOpened(OpenResult result)
    {
        if (!result.Succeeded)
        {
            LoopMetrics.NamespaceOpenFailures.WithLabels(result.FailureReason!).Inc();
            _logger.LogWarning("cannot open network namespace {Path}: {Reason} (errno {Errno}); retrying at the next reconcile",
                result.Request.Path, result.FailureReason, result.Errno);
        }
        _registry.OnOpenResult(result);
    }

    private void OnOpenerPoisoned(ControlCommand.OpenerPoisoned poisoned)
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

    // ---------------------------------------------------------------- the registry's decisions

    void INamespaceRegistryActions.Open(OpenRequest request) => _opener.Enqueue(request);

    NamespaceHandle INamespaceRegistryActions.Attach(NamespaceEntry entry, OpenResult opened)
    {
        if (opened.DestroyErrno != 0 && _destroySubscriptionWarnings++ == 0)
            _logger.LogWarning("cannot subscribe network namespace {Name} to TCP destroy events (errno {Errno}): its closed sockets are not recorded (it is still polled; logged once, debug for the next ones)",
                entry.Name, opened.DestroyErrno);
        else if (opened.DestroyErrno != 0)
            _logger.LogDebug("cannot subscribe network namespace {Name} to TCP destroy events (errno {Errno})", entry.Name, opened.DestroyErrno);
        if (opened.CountersErrno != 0)
        {
            LoopMetrics.TcpCounterFailuresOpen.Inc();
            if (_counterOpenWarnings++ == 0)
                _logger.LogWarning("cannot open the TCP counters (/proc/thread-self/net/sockstat, sockstat6) of network namespace {Name} (errno {Errno}): its new sockets are found only by its --walk-interval walks (logged once, debug for the next ones)",
                    entry.Name, opened.CountersErrno);
            else _logger.LogDebug("cannot open the TCP counters of network namespace {Name} (errno {Errno})", entry.Name, opened.CountersErrno);
        }
        var handle = _polls.Attach(entry, opened.SocketFd!, opened.Inode, opened.TcpEhashEntries, opened.DestroyFd, opened.Counters);
        entry.Attribution = RecordAttribution.None; // a new handle never inherits an owner (its inode may be reused)
        if (!entry.IsHost) _attribution?.NamespaceOpened(entry.Inode, handle.Id);
        LoopMetrics.NamespaceOpens.Inc();
        UpdateNamespaceGauges();
        return handle;
    }

    void INamespaceRegistryActions.Detach(NamespaceHandle handle)
    {
        _polls.Detach(handle);
        _attribution?.NamespaceRemoved(handle.Inode, handle.Id);
        LoopMetrics.NamespaceDeletes.Inc();
        UpdateNamespaceGauges();
    }

    void INamespaceRegistryActions.Discard(OpenResult unwanted) => unwanted.CloseSockets();

    void INamespaceRegistryActions.InitialOpensDone()
    {
        var (open, sharing) = _registry.CountOpen();
        if (sharing > 0)
            _logger.LogWarning("{Sharing} of {Open} network namespaces share the host TCP hash table: set net.ipv4.tcp_child_ehash_entries (Linux 6.1+) before creating namespaces so each gets its own TCP hash table; dumps get ~60x cheaper",
                sharing, open);
        else
            _logger.LogInformation("{Open} network namespaces open; none shares the host TCP hash table", open);
        if (_attribution != null)
        {
            // One /proc pass and one cgroup walk first (tens of ms), so the first poll's records are attributed.
            _awaitingInitialAttribution = true;
            _attribution.RequestInitialPass(() => Post(new ControlCommand.InitialAttributionDone()));
            return;
        }
        BeginPolling();
    }

    private void BeginPolling()
    {
        StartPoll();
        ArmTick();
    }

    /// <summary>
    /// Results of an attribution pass: applied to namespaces whose handle is still the one that was looked for
    /// (not removed, not reopened under a reused inode meanwhile). The contexts of later polls carry them.
    /// </summary>
    private void OnNamespacesAttributed(List<NamespaceAttribution> attributed)
    {
        foreach (var a in attributed)
            if (_registry.TryGet(a.Inode, out var entry) && entry.Handle?.Id == a.HandleId) entry.Attribution = a.Attribution;
    }

    private void UpdateNamespaceGauges()
    {
        Volatile.Write(ref _namespacesOpen, _polls.NamespacesOpen);
        LoopMetrics.NamespacesOpen.Set(_polls.NamespacesOpen);
        LoopMetrics.NamespacesSharingHostTable.Set(_polls.NamespacesSharingHostTable);
    }

    // ---------------------------------------------------------------- polls

    private void ArmTick()
    {
        if (_stopRequested) return;
        double jitter = _options.JitterPct / 100.0 * (2 * _jitter.NextDouble() - 1);
        _tickFd!.ArmOnce(_options.Frequency * (1 + jitter));
    }

    private void StartPoll(PollTrigger trigger = PollTrigger.Timer)
    {
        if (_stopRequested || _registry.WaitingForInitialOpens || _awaitingInitialAttribution) return;
        if (!_polls.TryStart(_registry.Entries, trigger)) return;
        foreach (var waiter in _startWaiters) waiter.TrySetResult(_polls.RunningTimestampNs);
        _startWaiters.Clear();
    }

    /// <summary>A live trigger never overlaps a poll nor is lost: it waits for the running one (one waits at most).</summary>
    private void OnTriggerPoll(ControlCommand.TriggerPoll trigger)
    {
        if (_stopRequested)
        {
            trigger.Started?.TrySetResult(-1);
            return;
        }
        if (trigger.Started != null) _startWaiters.Add(trigger.Started);
        if (_polls.PollRunning || _registry.WaitingForInitialOpens || _awaitingInitialAttribution) _queuedTrigger ??= trigger.Trigger;
        else StartPoll(trigger.Trigger);
    }

    /// <summary>New period and deadline, checked by the same rules as the command line; the tick is re-armed with it.</summary>
    private void OnSetPollFrequency(ControlCommand.SetPollFrequency change)
    {
        var (frequency, timeout) = (_options.Frequency, _options.Timeout);
        _options.Frequency = change.Frequency;
        _options.Timeout = change.Timeout;
        var error = _options.Validate();
        if (error != null) (_options.Frequency, _options.Timeout) = (frequency, timeout);
        else ArmTick();
        change.Reply.TrySetResult(error);
    }

    private void OnLaneDone(ControlCommand.LaneDone done)
    {
        if (_polls.OnLaneDone(done.Lane, done.PollId, done.Counts) is not { } summary) return;
        Volatile.Write(ref _pollsCompleted, _polls.PollsCompleted);
        try { PollCompleted?.Invoke(summary); }
        catch (Exception ex) { _logger.LogError(ex, "a PollCompleted handler failed"); }
        if (_stopRequested || (_options.MaxLoops > 0 && _polls.PollsCompleted >= _options.MaxLoops))
        {
            _stopRequested = true;
            _shuttingDown = true;
        }
        if (_queuedTrigger is { } queued && !_stopRequested)
        {
            _queuedTrigger = null;
            StartPoll(queued);
        }
    }

    // ---------------------------------------------------------------- shutdown

    private void Shutdown(Exception? fault)
    {
        // A lane that still runs a poll (only after a fault) ends it at Stop; its worker reports it below.
        foreach (var lane in _lanes) lane.Post(new LaneCommand.Stop());
        foreach (var lane in _lanes) lane.Join();
        foreach (var worker in _workers) worker.Join();
        foreach (var lane in _lanes) lane.Dispose();
        _opener.Dispose();
        _registry.Clear(); // the sockets were closed by their lanes
        Volatile.Write(ref _namespacesOpen, 0);
        LoopMetrics.NamespacesOpen.Set(0);
        lock (_commands)
        {
            _commandFdClosed = true;
            _commandFd!.Dispose();
        }
        while (_commands.TryDequeue(out var left))
        {
            switch (left)
            {
                case ControlCommand.Snapshot snapshot: snapshot.Reply.TrySetResult([]); break;
                case ControlCommand.TriggerPoll trigger: trigger.Started?.TrySetResult(-1); break;
                case ControlCommand.SetPollFrequency change: change.Reply.TrySetResult(new XtcpEpoll.Sinks.Options.OptionError("frequency", "", "the collector has stopped")); break;
                case ControlCommand.Opened opened: opened.Result.CloseSockets(); break; // opened while stopping
                case ControlCommand.LaneDone done when _polls.PollRunning:
                    try { OnLaneDone(done); } // the poll cut short by the fault still gets its EndOfPoll
                    catch (InvalidOperationException ex) { _logger.LogError(ex, "while stopping"); }
                    break;
            }
        }
        foreach (var waiter in _startWaiters) waiter.TrySetResult(-1);
        _watcher?.Dispose();
        _reconcileFd!.Dispose();
        _tickFd!.Dispose();
        _epoll!.Dispose();
        if (fault != null) _completion.TrySetException(fault);
        else _completion.TrySetResult();
    }
}
