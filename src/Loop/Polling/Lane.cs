using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's dump thread ("xtcp-lane-i"): owns an epoll fd with the sock_diag sockets of the namespaces
/// assigned to it, sends their dump requests and recv()s the replies straight into its pipe. The kernel
/// builds dump batches inside the send/recv calls, so N lanes put the kernel's work on N cores.
/// Sockets are level-triggered: when the lane pauses for backpressure (blocked in FlushAsync) a socket
/// with unread data is reported again on the next epoll_wait, nothing is lost or needs re-arming.
/// </summary>
internal sealed unsafe class Lane : IDisposable
{
    private const ulong CommandKey = ulong.MaxValue, DeadlineKey = ulong.MaxValue - 1, SpreadKey = ulong.MaxValue - 2;
    /// <summary>Netlink dump batches are ≤ ~32 KiB on current kernels; 64 KiB leaves room and never truncates.</summary>
    public const int RecvSize = 64 * 1024;
    /// <summary>Reads per socket per wakeup: bounded so one busy namespace cannot starve the others.</summary>
    private const int MaxReadsPerEvent = 8;
    private const int FlushEveryBytes = 256 * 1024;
    /// <summary>
    /// Dumps in flight per lane. Each costs the kernel a dump batch (≤ ~32 KiB) queued on its socket and the
    /// initial hash-table walk inside send(); sending all namespaces' requests at once would block the lane in
    /// send() for namespaces x walk (~1-5 ms each) before it reads anything or sees its deadline.
    /// </summary>
    public const int MaxInFlight = 32;

    private readonly int _index;
    private readonly CollectorOptions _options;
    private readonly ILogger _logger;
    private readonly PipeWriter _writer;
    private readonly ConcurrentQueue<LaneCommand> _commands = new();
    private readonly ConcurrentQueue<LanePlan> _plansForParser;
    private readonly Action<Exception> _onFault;
    private readonly Dictionary<ulong, NamespaceHandle> _handles = new();
    private readonly Epoll _epoll;
    private readonly EventFd _commandFd;
    private readonly TimerFd _deadlineFd, _spreadFd;
    private readonly Thread _thread;
    /// <summary>One dump request plus up to MaxTracked listener lookups, sent in one sendmsg.</summary>
    private readonly byte[] _request = new byte[DumpRequestBuilder.CompatSize + ListenerTracker.MaxTracked * DumpRequestBuilder.V2Size];
    /// <summary>LISTEN or BOUND_INACTIVE wanted and --shared-tables-refresh > 0: walk those tables per refresh.</summary>
    private readonly bool _trackSharedTables;
    private readonly long _refreshTicks;
    private uint _sequence;
    private LanePlan? _plan;
    private int _remaining;
    private bool _anyTimeout;
    private int _dumpErrors;
    private int _nextSpreadIndex;
    private int _sendCursor;
    private int _inFlight;
    private long _nextSpreadAt;
    private int _unflushed;
    private bool _stopped;

    public Lane(int index, CollectorOptions options, PipeWriter writer, ConcurrentQueue<LanePlan> plansForParser, Action<Exception> onFault, ILogger logger)
    {
        _index = index;
        _options = options;
        _writer = writer;
        _plansForParser = plansForParser;
        _onFault = onFault;
        _logger = logger;
        _sequence = (uint)(index + 1) << 24;
        // Lookups ride a dump of the other states; with none of those wanted (e.g. --states listen) every
        // poll walks.
        _trackSharedTables = (options.States & TcpStates.InHostWideTables) != 0 && (options.States & ~TcpStates.InHostWideTables & ~1u) != 0
            && options.SharedTablesRefresh > TimeSpan.Zero;
        // Due at the first poll starting within half a period of the interval's end, so poll jitter never
        // pushes a walk a whole period late.
        _refreshTicks = (long)(Math.Max(0, (options.SharedTablesRefresh - options.Frequency / 2).TotalSeconds) * Stopwatch.Frequency);
        _epoll = Epoll.Create();
        _commandFd = EventFd.Create();
        _deadlineFd = TimerFd.Create();
        _spreadFd = TimerFd.Create();
        _epoll.Add(_commandFd.Handle, CommandKey);
        _epoll.Add(_deadlineFd.Handle, DeadlineKey);
        _epoll.Add(_spreadFd.Handle, SpreadKey);
        _thread = new Thread(Run) { IsBackground = true, Name = $"xtcp-lane-{index}" };
    }

    public int Index => _index;

    /// <summary>Namespaces assigned (maintained by the control thread, which is the only one assigning).</summary>
    public int AssignedCount { get; set; }

    public void Start() => _thread.Start();

    public void Post(LaneCommand command)
    {
        _commands.Enqueue(command);
        _commandFd.Signal();
    }

    public void Join() => _thread.Join();

    public void Dispose()
    {
        _spreadFd.Dispose();
        _deadlineFd.Dispose();
        _commandFd.Dispose();
        _epoll.Dispose();
    }

    private void Run()
    {
        Span<epoll_event> events = stackalloc epoll_event[64];
        try
        {
            while (!_stopped)
            {
                int n = _epoll.Wait(events, -1);
                if (n < 0)
                {
                    if (-n == LibC.EINTR) continue;
                    throw new InvalidOperationException($"lane {_index}: epoll_wait errno {-n}");
                }
                for (int i = 0; i < n && !_stopped; i++)
                {
                    ulong key = Epoll.Key(events[i]);
                    if (key == CommandKey) { _commandFd.Drain(); RunCommands(); }
                    else if (key == DeadlineKey) { _deadlineFd.Drain(); OnDeadline(); }
                    else if (key == SpreadKey) { _spreadFd.Drain(); SendDueSpread(); }
                    else if (_handles.TryGetValue(key, out var handle)) OnReadable(handle);
                }
                PumpSends();
                Flush();
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "lane {Lane} died", _index);
            _writer.Complete(ex);
            _onFault(ex);
            return;
        }
        _writer.Complete();
    }

    private void RunCommands()
    {
        while (!_stopped && _commands.TryDequeue(out var command))
        {
            switch (command)
            {
                case LaneCommand.Add add:
                    AddHandle(add.Handle);
                    break;
                case LaneCommand.Remove remove:
                    RemoveHandle(remove.Handle);
                    break;
                case LaneCommand.StartPoll start:
                    StartPoll(start.Plan);
                    break;
                case LaneCommand.Stop:
                    if (_plan != null) OnDeadline();
                    foreach (var handle in _handles.Values) { _epoll.Remove(handle.SocketFd); handle.SocketFd.Dispose(); handle.Removed = true; }
                    _handles.Clear();
                    _stopped = true;
                    break;
            }
        }
    }

    private void AddHandle(NamespaceHandle handle)
    {
        handle.UseV2 = _options.Request == RequestMode.V2;
        int errno = _epoll.TryAdd(handle.SocketFd, handle.Id);
        if (errno != 0)
        {
            // e.g. fs.epoll.max_user_watches reached: this namespace cannot be polled; never kill the lane for it.
            _logger.LogError("lane {Lane}: cannot watch the socket of namespace {Name}: errno {Errno}", _index, handle.Name, errno);
            LoopMetrics.NamespaceOpenFailures.WithLabels("epoll").Inc();
            handle.SocketFd.Dispose();
            handle.Removed = true;
            return;
        }
        _handles.Add(handle.Id, handle);
    }

    private void RemoveHandle(NamespaceHandle handle)
    {
        if (!_handles.Remove(handle.Id)) return;
        if (_plan != null && handle.PollIndex >= 0 && handle.State is DumpState.Dumping or DumpState.Scheduled)
        {
            LoopMetrics.DumpsAbandoned.Inc();
            EndDump(handle, DumpEnd.Abandoned);
        }
        _epoll.Remove(handle.SocketFd);
        handle.SocketFd.Dispose();
        handle.Removed = true;
        handle.State = DumpState.Idle;
    }

    private void StartPoll(LanePlan plan)
    {
        _plan = plan;
        _anyTimeout = false;
        _dumpErrors = 0;
        _remaining = 0;
        _plansForParser.Enqueue(plan);
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length; i++)
        {
            var handle = targets[i];
            handle.PollIndex = -1;
            if (handle.Removed) continue;
            handle.PollIndex = i;
            handle.InterruptCounted = false;
            _remaining++;
            if (handle.State != DumpState.Discarding) handle.State = DumpState.Scheduled;
        }
        if (_remaining == 0) { FinishLane(); return; }
        // Only once every target is counted: ending one must not look like the end of the lane's poll.
        for (int i = 0; i < targets.Length && _plan == plan; i++)
        {
            var handle = targets[i];
            if (handle.PollIndex != i || handle.State != DumpState.Discarding) continue;
            // Still draining a timed-out dump: a second dump on that socket would be refused (EBUSY).
            LoopMetrics.DumpTimeouts.Inc();
            _anyTimeout = true;
            EndDump(handle, DumpEnd.Timeout, keepState: true);
        }
        if (_plan != plan) return; // every target was still discarding: the lane's poll is already over

        long now = Stopwatch.GetTimestamp();
        ArmAt(_deadlineFd, plan.Deadline, now);
        _nextSpreadIndex = 0;
        _sendCursor = 0;
        if (plan.SendInterval > 0)
        {
            _nextSpreadAt = now;
            SendDueSpread();
        }
        else PumpSends();
    }

    /// <summary>Keeps up to <see cref="MaxInFlight"/> dumps running; called after every epoll batch.</summary>
    private void PumpSends()
    {
        var plan = _plan;
        if (plan == null || plan.SendInterval > 0) return;
        var targets = plan.Targets;
        while (_inFlight < MaxInFlight && _sendCursor < targets.Length && _plan == plan)
        {
            int i = _sendCursor++;
            if (targets[i].State == DumpState.Scheduled && targets[i].PollIndex == i) SendFirst(targets[i]);
        }
    }

    /// <summary>--spread: send every request whose slot has come, then arm the timer for the next slot.</summary>
    private void SendDueSpread()
    {
        var plan = _plan;
        if (plan == null) return;
        long now = Stopwatch.GetTimestamp();
        var targets = plan.Targets;
        while (_nextSpreadIndex < targets.Length && _nextSpreadAt <= now)
        {
            var handle = targets[_nextSpreadIndex];
            if (handle.State == DumpState.Scheduled && handle.PollIndex == _nextSpreadIndex) SendFirst(handle);
            _nextSpreadIndex++;
            _nextSpreadAt += plan.SendInterval;
            if (_plan != plan) return; // the lane finished meanwhile
        }
        if (_nextSpreadIndex < targets.Length) ArmAt(_spreadFd, _nextSpreadAt, now);
    }

    private void SendFirst(NamespaceHandle handle)
    {
        handle.SecondFamily = false;
        handle.ListenerPhase = false;
        handle.MainDumpDone = false;
        handle.WalkingListeners = false;
        handle.LookupsPending = handle.LookupsSent = 0;
        if (!handle.InFlight)
        {
            handle.InFlight = true;
            _inFlight++;
        }
        bool lookUp = false;
        if (_trackSharedTables)
        {
            var listeners = handle.Listeners ??= new ListenerTracker();
            if (listeners.Plan(_plan!.Poll.StartTimestamp, out var reason) == ListenerAction.LookUp) lookUp = true;
            else BeginListenerWalk(handle, reason);
        }
        else if ((_options.States & TcpStates.InHostWideTables) != 0) LoopMetrics.WalksUntracked.Inc();
        // Between walks: no LISTEN (looked up instead) and no BOUND_INACTIVE (reported at walks only).
        handle.DumpStates = lookUp ? _options.States & ~TcpStates.InHostWideTables : _options.States;
        Send(handle, lookUp);
    }

    private static void BeginListenerWalk(NamespaceHandle handle, WalkReason reason)
    {
        handle.WalkingListeners = true;
        handle.Listeners!.BeginWalk();
        (reason switch { WalkReason.LookupMiss => LoopMetrics.WalksForLookupMiss, WalkReason.Untracked => LoopMetrics.WalksUntracked, _ => LoopMetrics.WalksForRefresh }).Inc();
    }

    /// <summary>
    /// Sends the dump request of the current step; with <paramref name="lookUp"/> the same sendmsg carries
    /// one exact lookup per known listener (the kernel answers each inside the call, in order, one reply
    /// or one NLMSG_ERROR each, with the following sequence numbers).
    /// </summary>
    private void Send(NamespaceHandle handle, bool lookUp = false)
    {
        uint seq = ++_sequence;
        var request = _request.AsSpan();
        int length = handle.UseV2
            ? DumpRequestBuilder.WriteV2(request, handle.SecondFamily ? (byte)10 : (byte)2, handle.DumpStates, _options.IdiagExt, seq)
            : DumpRequestBuilder.WriteCompat(request, handle.DumpStates, _options.IdiagExt, seq);
        handle.ExpectedSeq = seq;
        if (lookUp)
        {
            var listeners = handle.Listeners!;
            handle.LookupFirstSeq = seq + 1;
            for (int i = 0; i < listeners.Count; i++)
                length += DumpRequestBuilder.WriteExactV2(request.Slice(length), in listeners.Key(i), _options.IdiagExt, ++_sequence);
            handle.LookupsSent = handle.LookupsPending = listeners.Count;
        }
        handle.State = DumpState.Dumping;
        int sent = NetlinkSocket.Send(handle.SocketFd, request.Slice(0, length));
        if (sent != length)
        {
            _logger.LogWarning("lane {Lane}: send to namespace {Name} failed: errno {Errno}", _index, handle.Name, -sent);
            LoopMetrics.DumpErrors.Inc();
            EndDump(handle, DumpEnd.Error);
        }
    }

    private void OnReadable(NamespaceHandle handle)
    {
        for (int read = 0; read < MaxReadsPerEvent && !handle.Removed; read++)
        {
            var memory = _writer.GetMemory(FrameHeader.Size + RecvSize);
            int n = NetlinkSocket.Receive(handle.SocketFd, memory.Span.Slice(FrameHeader.Size, RecvSize), out bool truncated);
            if (truncated) n = -LibC.EMSGSIZE; // cut datagram: the dump lost messages
            if (n < 0)
            {
                int errno = -n;
                if (errno == LibC.EAGAIN) return;
                // ENOBUFS and friends: the dump is lost; never guess where it stands.
                _logger.LogWarning("lane {Lane}: recv from namespace {Name} failed: errno {Errno}", _index, handle.Name, errno);
                if (handle.State == DumpState.Dumping) { LoopMetrics.DumpErrors.Inc(); EndDump(handle, DumpEnd.Error); }
                handle.State = DumpState.Idle;
                return;
            }
            if (n == 0) return;
            LoopMetrics.DatagramsRead.Inc();
            LoopMetrics.BytesRead.Inc(n);
            var datagram = memory.Span.Slice(FrameHeader.Size, (int)n);
            var summary = SockDiagReader.Summarize(datagram);
            bool last = summary.Done || summary.ErrorNumber != 0;

            if (handle.State == DumpState.Discarding)
            {
                if (last && summary.Sequence == handle.DiscardSeq) handle.State = DumpState.Idle;
                continue;
            }
            if (handle.State != DumpState.Dumping) continue; // stray: drop
            if (summary.Sequence != handle.ExpectedSeq)
            {
                if (handle.LookupsPending > 0 && summary.Sequence - handle.LookupFirstSeq < (uint)handle.LookupsSent)
                    OnLookupReply(handle, memory.Span, (int)n, summary);
                continue; // else a stray of an earlier dump: drop
            }

            if (summary.ErrorNumber != 0 && !handle.UseV2 && IsCompatRefusal(summary.ErrorNumber))
            {
                _logger.LogInformation("namespace {Name} refused the compat request (errno {Errno}); using v2 requests", handle.Name, summary.ErrorNumber);
                LoopMetrics.CompatFallbacks.Inc();
                handle.UseV2 = true;
                SendFirst(handle);
                continue;
            }
            if (summary.DumpInterrupted && !handle.InterruptCounted)
            {
                handle.InterruptCounted = true;
                LoopMetrics.DumpInterrupts.Inc();
            }
            if (summary.SocketMessages > 0)
            {
                if (handle.WalkingListeners) handle.Listeners!.Collect(datagram);
                Forward(handle, memory.Span, (int)n);
            }
            if (summary.ErrorNumber != 0)
            {
                _logger.LogDebug("namespace {Name}: dump ended with errno {Errno}", handle.Name, summary.ErrorNumber);
                LoopMetrics.DumpErrors.Inc();
                EndDump(handle, DumpEnd.Error);
            }
            else if (summary.Done)
            {
                if (handle.UseV2 && !handle.SecondFamily)
                {
                    handle.SecondFamily = true;
                    Send(handle); // one dump in flight per socket: AF_INET6 only after AF_INET's DONE
                }
                else OnDumpsDone(handle);
            }
            if (_unflushed >= FlushEveryBytes) Flush();
        }
    }

    private void Forward(NamespaceHandle handle, Span<byte> frame, int length)
    {
        WriteHeader(frame, FrameKind.Datagram, handle.PollIndex, length);
        _writer.Advance(FrameHeader.Size + length);
        _unflushed += FrameHeader.Size + length;
    }

    /// <summary>One reply to a listener lookup: the listener's record, or an error (it is gone or unreachable).</summary>
    private void OnLookupReply(NamespaceHandle handle, Span<byte> frame, int length, DatagramSummary summary)
    {
        handle.LookupsPending--;
        if (summary.SocketMessages > 0)
        {
            LoopMetrics.LookupsFound.Inc();
            Forward(handle, frame, length);
        }
        else
        {
            LoopMetrics.LookupsMissing.Inc();
            handle.Listeners!.Missed((int)(summary.Sequence - handle.LookupFirstSeq));
        }
        if (handle.LookupsPending == 0 && handle.MainDumpDone) AfterLookups(handle);
    }

    /// <summary>The dump(s) of the current step sent DONE.</summary>
    private void OnDumpsDone(NamespaceHandle handle)
    {
        if (handle.WalkingListeners)
        {
            handle.WalkingListeners = false;
            handle.Listeners!.EndWalk(_plan!.Poll.StartTimestamp, _refreshTicks, handle.Id, afterMissedLookups: handle.ListenerPhase);
        }
        if (handle.ListenerPhase) { EndDump(handle, DumpEnd.Done); return; }
        handle.MainDumpDone = true;
        if (handle.LookupsPending == 0) AfterLookups(handle);
    }

    /// <summary>
    /// Every reply of the namespace's main step is in. A missed lookup may hide a live listener (a new one
    /// on the same address, or one the lookup cannot reach), so the listening table is walked now, in this
    /// poll: no listener goes unreported. Records already sent by lookups are dropped by the cookie dedupe.
    /// </summary>
    private void AfterLookups(NamespaceHandle handle)
    {
        if (handle.Listeners is { AnyMissed: true })
        {
            handle.ListenerPhase = true;
            handle.MainDumpDone = false;
            handle.SecondFamily = false;
            handle.DumpStates = TcpStates.Listen;
            BeginListenerWalk(handle, WalkReason.LookupMiss);
            Send(handle);
            return;
        }
        EndDump(handle, DumpEnd.Done);
    }

    /// <summary>Errors with which a kernel says "no TCPDIAG_GETSOCK here" (then v2 is used).</summary>
    private static bool IsCompatRefusal(int errno) =>
        errno == LibC.EINVAL || errno == LibC.EOPNOTSUPP || errno == LibC.ENOENT || errno == LibC.EPROTONOSUPPORT;

    private void OnDeadline()
    {
        var plan = _plan;
        if (plan == null) return;
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length && _plan == plan; i++)
        {
            var handle = targets[i];
            if (handle.PollIndex != i || handle.Removed) continue;
            if (handle.State == DumpState.Dumping && handle.MainDumpDone)
            {
                // Only lookup replies were outstanding: no dump runs on the socket, nothing to discard.
                LoopMetrics.DumpTimeouts.Inc();
                _anyTimeout = true;
                EndDump(handle, DumpEnd.Timeout);
            }
            else if (handle.State == DumpState.Dumping)
            {
                LoopMetrics.DumpTimeouts.Inc();
                _anyTimeout = true;
                handle.DiscardSeq = handle.ExpectedSeq;
                handle.State = DumpState.Discarding;
                EndDump(handle, DumpEnd.Timeout, keepState: true);
            }
            else if (handle.State == DumpState.Scheduled)
            {
                LoopMetrics.DumpTimeouts.Inc();
                _anyTimeout = true;
                EndDump(handle, DumpEnd.Timeout);
            }
        }
    }

    /// <summary>Writes the namespace's end frame; the lane's poll ends with its last namespace.</summary>
    private void EndDump(NamespaceHandle handle, DumpEnd how, bool keepState = false)
    {
        if (!keepState) handle.State = DumpState.Idle;
        if (how == DumpEnd.Error) _dumpErrors++;
        if (handle.WalkingListeners)
        {
            handle.WalkingListeners = false;
            handle.Listeners!.AbortWalk();
        }
        handle.LookupsPending = 0;
        handle.MainDumpDone = false;
        if (handle.InFlight)
        {
            handle.InFlight = false;
            _inFlight--;
        }
        int index = handle.PollIndex;
        if (index < 0 || _plan == null) return;
        handle.PollIndex = -1;
        WriteFrame(FrameKind.NamespaceEnd, index, (int)how);
        if (--_remaining == 0) FinishLane();
    }

    private void FinishLane()
    {
        ThreadAllocations.RecordCurrentThread();
        WriteFrame(FrameKind.LaneDone, _dumpErrors, _anyTimeout ? 1 : 0);
        _deadlineFd.Disarm();
        _spreadFd.Disarm();
        _plan = null;
        _inFlight = 0;
        Flush();
    }

    private void WriteFrame(FrameKind kind, int nsIndex, int value)
    {
        var span = _writer.GetSpan(FrameHeader.Size);
        WriteHeader(span, kind, nsIndex, value);
        _writer.Advance(FrameHeader.Size);
        _unflushed += FrameHeader.Size;
    }

    private void WriteHeader(Span<byte> span, FrameKind kind, int nsIndex, int value)
    {
        var header = new FrameHeader { Kind = kind, NsIndex = nsIndex, PollId = _plan?.Poll.PollId ?? 0, Value = value };
        MemoryMarshal.Write(span, in header);
    }

    /// <summary>
    /// Hands written frames to the parse worker. If the pipe is above its pause threshold this blocks the
    /// lane thread until the worker catches up: the lane stops reading and the kernel holds the data.
    /// </summary>
    private void Flush()
    {
        if (_unflushed == 0) return;
        _unflushed = 0;
        var flush = _writer.FlushAsync();
        if (!flush.IsCompleted) flush.AsTask().GetAwaiter().GetResult();
        else flush.GetAwaiter().GetResult();
    }

    private static void ArmAt(TimerFd timer, long stopwatchTimestamp, long now)
    {
        long delta = Math.Max(1, stopwatchTimestamp - now);
        timer.ArmOnce(TimeSpan.FromSeconds(delta / (double)Stopwatch.Frequency));
    }
}
