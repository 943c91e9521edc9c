using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// The "xtcp-control" thread: one epoll over the tick timerfd, the mailbox's eventfd and discovery's fds; it
/// turns their events into calls on the parts it is made of, and starts the polls. Its parts, each with one
/// job: <see cref="LanePool"/> (lanes, pipes, parse workers), <see cref="NamespaceDiscovery"/> (scans, inotify,
/// re-probes), <see cref="NamespaceRegistry"/> (which namespaces exist), <see cref="OpenerSupervisor"/> (the
/// opener thread), <see cref="NamespaceAttachments"/> (the registry's decisions carried out, attribution told),
/// <see cref="PollCoordinator"/> (a poll from start to end), <see cref="ControlMailbox"/> (commands in).
/// Everything is made in the constructor (released again if any part fails); <see cref="Start"/> starts the
/// threads. Never blocks on anything but epoll_wait. Owners: every mutable field below is the control thread's.
/// </summary>
internal sealed class ControlLoop
{
    private const ulong TickKey = 1, CommandKey = 2, InotifyKey = 3, ReconcileKey = 4;

    private readonly CollectorOptions _options;
    private readonly ILogger _logger;
    private readonly LoopStatus _status;
    private readonly ControlMailbox _mailbox;
    private readonly Epoll _epoll;
    private readonly TimerFd _tickFd;
    /// <summary>Container/pod attribution (null when off); its work runs on the opener thread.</summary>
    private readonly AttributionService? _attribution;
    private readonly LanePool _lanes;
    private readonly PollCoordinator _polls;
    private readonly OpenerSupervisor _opener;
    private readonly NamespaceRegistry _registry;
    private readonly NamespaceDiscovery _discovery;
    private readonly ChurnCollection _churn;
    private readonly Thread _thread;
    private readonly Random _jitter = new();
    /// <summary>Who waits for the next poll to start (TriggerPoll replies).</summary>
    private readonly List<TaskCompletionSource<long>> _startWaiters = new();
    /// <summary>The first poll waits for the first attribution pass (so that it is attributed too).</summary>
    private bool _awaitingInitialAttribution;
    private bool _stopRequested, _shuttingDown;
    /// <summary>A trigger that came while a poll ran: it starts when that poll ends (one at most).</summary>
    private PollTrigger? _queuedTrigger;

    /// <summary>Makes every fd and part (no thread runs yet); throws, having released what it made, if one fails.</summary>
    public ControlLoop(CollectorOptions options, IRecordSink sink, ILogger logger, LoopStatus status)
    {
        _options = options;
        _logger = logger;
        _status = status;
        var made = new Stack<IDisposable>();
        T Own<T>(T resource) where T : IDisposable
        {
            made.Push(resource);
            return resource;
        }
        try
        {
            _mailbox = Own(new ControlMailbox());
            _epoll = Own(Epoll.Create());
            _tickFd = Own(TimerFd.Create());
            _epoll.Add(_tickFd.Handle, TickKey);
            _epoll.Add(_mailbox.Fd, CommandKey);
            _attribution = AttributionService.Create(options, attributed => _mailbox.Post(new ControlCommand.NamespacesAttributed(attributed)), logger);
            _lanes = Own(new LanePool(options, sink, _attribution?.Cgroups, _mailbox, logger));
            _polls = new PollCoordinator(options, _lanes.Lanes, sink, _lanes.ParseErrors, logger);
            var attribution = _attribution;
            _opener = Own(new OpenerSupervisor(reports => new NamespaceOpener(reports, attribution, options.DestroyEvents,
                tcpCounters: options.WalkInterval > TimeSpan.Zero), _mailbox.Post, logger));
            var scanner = new NamespaceScanner();
            _churn = new ChurnCollection(options.GcAfterCloses);
            _registry = new NamespaceRegistry(scanner.NsfsDev, new NamespaceAttachments(_polls, _opener, _attribution, status, _churn, OnInitialOpensDone, logger));
            _discovery = Own(new NamespaceDiscovery(options, scanner, _registry, _epoll, InotifyKey, ReconcileKey, logger));
            _thread = new Thread(Run) { IsBackground = true, Name = "xtcp-control" };
        }
        catch
        {
            while (made.TryPop(out var resource)) resource.Dispose();
            throw;
        }
    }

    /// <summary>Starts the opener, the lanes, the parse workers and the control thread (throws, releasing everything, if the opener cannot start).</summary>
    public void Start()
    {
        try { _opener.Start(); }
        catch
        {
            _opener.Dispose();
            _discovery.Dispose();
            _lanes.Dispose();
            _tickFd.Dispose();
            _mailbox.Dispose();
            _epoll.Dispose();
            throw;
        }
        _lanes.Start();
        _thread.Start();
    }

    /// <summary>Queues a command for the control thread (any thread; ignored once the loop has shut down).</summary>
    public void Post(ControlCommand command) => _mailbox.Post(command);

    // ---------------------------------------------------------------- the loop

    private void Run()
    {
        Exception? fault = null;
        try
        {
            _discovery.Begin();
            Span<epoll_event> events = stackalloc epoll_event[16];
            while (!_shuttingDown)
            {
                int n = _epoll.WaitUntil(events, _registry.NextProbeDue, "control loop");
                for (int i = 0; i < n && !_shuttingDown; i++)
                {
                    switch (Epoll.Key(events[i]))
                    {
                        case TickKey: _tickFd.Drain(); ArmTick(); StartPoll(); break;
                        case CommandKey: _mailbox.Drain(); RunCommands(); break;
                        case InotifyKey: _discovery.OnWatchEvents(); break;
                        case ReconcileKey: _discovery.OnReconcileTimer(); break;
                    }
                }
                if (!_shuttingDown) _discovery.ProbeDuePlaceholders();
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
        while (!_shuttingDown && _mailbox.TryTake(out var command))
        {
            switch (command)
            {
                case ControlCommand.Opened opened: OnOpened(opened.Result); break;
                case ControlCommand.LaneDone done: OnLaneDone(done); break;
                case ControlCommand.OpenerPoisoned poisoned: _opener.OnPoisoned(poisoned.Opener, poisoned.Pending); break;
                case ControlCommand.NamespacesAttributed attributed: _registry.ApplyAttribution(attributed.Attributed); break;
                case ControlCommand.InitialAttributionDone: _awaitingInitialAttribution = false; BeginPolling(); break;
                case ControlCommand.TriggerPoll trigger: OnTriggerPoll(trigger); break;
                case ControlCommand.SetPollFrequency change: OnSetPollFrequency(change); break;
                case ControlCommand.Snapshot snapshot: snapshot.Reply.TrySetResult(_registry.Snapshot()); break;
                case ControlCommand.StageFailed failed: throw new InvalidOperationException("a collector stage failed", failed.Exception);
                case ControlCommand.Stop:
                    _stopRequested = true;
                    _tickFd.Disarm();
                    if (!_polls.PollRunning) _shuttingDown = true;
                    break;
                default: throw new UnreachableException($"unknown control command {command}");
            }
        }
    }

    private void OnOpened(OpenResult result)
    {
        if (!result.Succeeded)
        {
            var reason = OpenFailures.Label(result.Failure);
            LoopMetrics.NamespaceOpenFailures.WithLabels(reason).Inc();
            _logger.LogWarning("cannot open network namespace {Path}: {Reason} (errno {Errno}); retrying at the next reconcile",
                result.Request.Path, reason, result.Errno);
        }
        _registry.OnOpenResult(result);
    }

    /// <summary>Every namespace found at start-up has answered: the first poll, after one attribution pass if attribution is on.</summary>
    private void OnInitialOpensDone()
    {
        if (_attribution == null)
        {
            BeginPolling();
            return;
        }
        // One /proc pass and one cgroup walk first, so the first poll's records are attributed.
        _awaitingInitialAttribution = true;
        _attribution.RequestInitialPass(() => _mailbox.Post(new ControlCommand.InitialAttributionDone()));
    }

    // ---------------------------------------------------------------- polls

    private void BeginPolling()
    {
        StartPoll();
        ArmTick();
    }

    private void ArmTick()
    {
        if (_stopRequested) return;
        double jitter = _options.JitterPct / 100.0 * (2 * _jitter.NextDouble() - 1);
        _tickFd.ArmOnce(_options.Frequency * (1 + jitter));
    }

    private bool MayStartPoll => !_stopRequested && !_registry.WaitingForInitialOpens && !_awaitingInitialAttribution;

    private void StartPoll(PollTrigger trigger = PollTrigger.Timer)
    {
        if (!MayStartPoll || !_polls.TryStart(_registry.Entries, trigger)) return;
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
        if (_polls.PollRunning || !MayStartPoll) _queuedTrigger ??= trigger.Trigger;
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
        _status.PollsCompleted = _polls.PollsCompleted;
        _status.RaisePollCompleted(summary, _logger);
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
        else if (!_stopRequested) _churn.CollectIfDue(MonotonicClock.Now); // between polls: no dump waits on it
    }

    // ---------------------------------------------------------------- shutdown

    private void Shutdown(Exception? fault)
    {
        _lanes.StopAndJoin();
        _opener.Dispose();
        _registry.Clear(); // the sockets were closed by their lanes
        _status.NamespacesOpen = 0;
        LoopMetrics.NamespacesOpen.Set(0);
        _mailbox.Close();
        _mailbox.AnswerLeftovers(done =>
        {
            if (!_polls.PollRunning) return;
            try { OnLaneDone(done); } // the poll cut short by the fault still gets its EndOfPoll
            catch (InvalidOperationException ex) { _logger.LogError(ex, "while stopping"); }
        });
        foreach (var waiter in _startWaiters) waiter.TrySetResult(-1);
        _discovery.Dispose();
        _tickFd.Dispose();
        _epoll.Dispose();
        _status.Complete(fault);
    }
}
