using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's dump thread ("xtcp-lane-i"): owns an epoll fd with the sock_diag sockets of the namespaces
/// assigned to it, sends their requests and recv()s the replies straight into its pipe. The kernel builds
/// dump batches inside the send/recv calls, so N lanes put the kernel's work on N cores.
/// The lane does I/O and framing only: what to send and what a reply means is each namespace's
/// <see cref="NamespaceDump"/>, whose <see cref="DumpStep"/>s the lane carries out.
/// Sockets are level-triggered: when the lane pauses for backpressure (blocked in FlushAsync) a socket
/// with unread data is reported again on the next epoll_wait, nothing is lost or needs re-arming.
/// Each namespace may have a second socket, subscribed to the kernel's TCP destroy events: the lane reads it
/// whenever it is readable (between polls too) into DestroyEvent frames stamped with the read time, counts
/// what the kernel dropped on it and asks the namespace's dump for a walk after a loss.
/// </summary>
internal sealed class Lane : IDisposable, ILaneMailbox
{
    private const ulong CommandKey = ulong.MaxValue, DeadlineKey = ulong.MaxValue - 1, SpreadKey = ulong.MaxValue - 2;
    /// <summary>A destroy socket's epoll key is its handle's id with this bit (ids count up from 1, never near it).</summary>
    private const ulong DestroyKeyBit = 1UL << 62;
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
    private readonly ILogger _logger;
    private readonly PipeWriter _writer;
    private readonly PlanSlot _planSlot;
    private readonly EventSources _eventSources;
    private readonly ConcurrentQueue<LaneCommand> _commands = new();
    private readonly Action<Exception> _onFault;
    private readonly Dictionary<ulong, NamespaceHandle> _handles = new();
    private readonly Epoll _epoll;
    private readonly EventFd _commandFd;
    private readonly TimerFd _deadlineFd, _spreadFd;
    private readonly Thread _thread;
    private LanePlan? _plan;
    private int _remaining;
    private int _nextSpreadIndex;
    private int _sendCursor;
    private int _inFlight;
    private long _nextSpreadAt;
    private int _unflushed;
    private bool _stopped;
    private readonly WalkBudget _walkBudget = new();
    private readonly DatagramBatch _lookupAnswers = new(RecvSize);
    /// <summary>Namespaces of the running poll waiting for a walk (<see cref="DumpState.AwaitingWalk"/>).</summary>
    private int _awaiting;
    /// <summary>Every namespace of the poll has done its lookups: the budgeted walks are being served.</summary>
    private bool _walkPhase;
    private bool _counterFailureLogged;

    public Lane(int index, CollectorOptions options, PipeWriter writer, PlanSlot planSlot, EventSources eventSources, Action<Exception> onFault, ILogger logger)
    {
        _index = index;
        _writer = writer;
        _planSlot = planSlot;
        _eventSources = eventSources;
        _onFault = onFault;
        _logger = logger;
        // Sequence numbers per lane, from (index + 1) << 24: distinct across lanes in logs and captures.
        Dumps = new DumpContext(DumpSettings.From(options), new RequestBuffer((uint)(index + 1) << 24), logger);
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

    /// <summary>What this lane's namespace dumps share (settings, request buffer, counts); lane thread only once started.</summary>
    public DumpContext Dumps { get; }

    public void Start() => _thread.Start();

    public void Post(LaneCommand command)
    {
        _commands.Enqueue(command);
        _commandFd.Signal();
    }

    public void Join() => _thread.Join();

    public void Dispose()
    {
        _lookupAnswers.Dispose();
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
                int n = _epoll.WaitUntil(events, long.MaxValue, "lane");
                for (int i = 0; i < n && !_stopped; i++)
                {
                    ulong key = Epoll.Key(events[i]);
                    if (key == CommandKey) { _commandFd.Drain(); RunCommands(); }
                    else if (key == DeadlineKey) { _deadlineFd.Drain(); OnDeadline(); }
                    else if (key == SpreadKey) { _spreadFd.Drain(); SendDueSpread(); }
                    else if ((key & DestroyKeyBit) != 0) { if (_handles.TryGetValue(key & ~DestroyKeyBit, out var owner)) OnDestroyEvents(owner); }
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
                    OnDeadline();
                    foreach (var handle in _handles.Values) Close(handle);
                    _handles.Clear();
                    _stopped = true;
                    break;
            }
        }
    }

    // ---------------------------------------------------------------- namespaces

    private void AddHandle(NamespaceHandle handle)
    {
        handle.Dump ??= new NamespaceDump(handle.Id, handle.Name, Dumps, handle.TcpEhashEntries);
        int errno = _epoll.TryAdd(handle.SocketFd, handle.Id);
        if (errno != 0)
        {
            // e.g. fs.epoll.max_user_watches reached: this namespace cannot be polled; never kill the lane for it.
            _logger.LogError("lane {Lane}: cannot watch the socket of namespace {Name}: {Errno}", _index, handle.Name, Errno.Describe(errno));
            LoopMetrics.NamespaceOpenFailures.WithLabels("epoll").Inc();
            handle.SocketFd.Dispose();
            handle.DestroyFd?.Dispose();
            handle.Counters?.Dispose();
            handle.Removed = true;
            return;
        }
        _handles.Add(handle.Id, handle);
        if (handle.DestroyFd is { } destroyFd)
        {
            _eventSources.Announce(handle); // before any of its frames
            errno = _epoll.TryAdd(destroyFd, handle.Id | DestroyKeyBit);
            if (errno != 0)
            {
                _logger.LogError("lane {Lane}: cannot watch the destroy-event socket of namespace {Name}: {Errno}; its closed sockets will not be recorded",
                    _index, handle.Name, Errno.Describe(errno));
                destroyFd.Dispose();
            }
        }
    }

    private void RemoveHandle(NamespaceHandle handle)
    {
        if (!_handles.Remove(handle.Id)) return;
        if (handle.Dump!.State == DumpState.AwaitingWalk) _awaiting--;
        Apply(handle, handle.Dump!.OnRemoved());
        Close(handle);
    }

    private void Close(NamespaceHandle handle)
    {
        _epoll.Remove(handle.SocketFd);
        handle.SocketFd.Dispose();
        handle.Counters?.Dispose();
        if (handle.DestroyFd is { IsClosed: false } destroyFd)
        {
            CountLostEvents(handle); // what the kernel dropped since the last count is lost too
            _epoll.Remove(destroyFd);
            destroyFd.Dispose();
        }
        if (handle.DestroyFd != null)
        {
            var span = _writer.GetSpan(FrameHeader.Size + sizeof(ulong));
            WriteHeader(span, FrameKind.NamespaceGone, 0, sizeof(ulong), pollId: 0);
            MemoryMarshal.Write(span.Slice(FrameHeader.Size), handle.Id);
            _writer.Advance(FrameHeader.Size + sizeof(ulong));
            _unflushed += FrameHeader.Size + sizeof(ulong);
        }
        handle.Removed = true;
    }

    // ---------------------------------------------------------------- polls

    private void StartPoll(LanePlan plan)
    {
        _plan = plan;
        _remaining = 0;
        _awaiting = 0;
        _walkPhase = false;
        _walkBudget.StartPoll(plan.Deadline, plan.TimeoutTicks > 0 ? plan.TimeoutTicks : plan.Deadline - plan.StartTimestamp);
        Dumps.HostSockets = plan.HostSockets;
        _planSlot.Publish(plan);
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length; i++)
        {
            var handle = targets[i];
            handle.PollIndex = handle.Removed ? -1 : i;
            if (!handle.Removed) _remaining++;
        }
        if (_remaining == 0) { FinishLane(); return; }
        // Only once every target is counted: ending one (still discarding) must not look like the end of the lane's poll.
        for (int i = 0; i < targets.Length && _plan == plan; i++)
            if (targets[i].PollIndex == i) Apply(targets[i], targets[i].Dump!.Schedule());
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
            if (IsWaiting(targets[i], i)) StartDump(targets[i]);
        }
        // The walk phase begins once every namespace has done its lookups (all that are left wait for a walk).
        if (_plan == plan && _sendCursor == targets.Length && (_walkPhase || (_awaiting > 0 && _awaiting == _remaining)))
            ServeWalks(plan);
    }

    /// <summary>
    /// Grants the waiting walks in the budget's order while in-flight slots are free and their cost fits before
    /// the cut-off; the first that does not fit is deferred with every one after it.
    /// </summary>
    private void ServeWalks(LanePlan plan)
    {
        if (!_walkPhase)
        {
            _walkPhase = true;
            _walkBudget.Order();
        }
        var targets = plan.Targets;
        long now = Stopwatch.GetTimestamp();
        while (_inFlight < MaxInFlight && _plan == plan && _walkBudget.Waiting > 0)
        {
            var grant = _walkBudget.TryGrant(now, out int i);
            if (grant == WalkGrant.Wait) return; // asked again after the next epoll batch, when a walk has ended
            if (grant == WalkGrant.Granted)
            {
                if (IsAwaitingWalk(targets[i], i)) GrantWalk(targets[i]);
                continue;
            }
            while (_plan == plan && _walkBudget.TakeDeferred(out i))
                if (IsAwaitingWalk(targets[i], i)) DeferWalk(targets[i]);
        }
    }

    private static bool IsAwaitingWalk(NamespaceHandle handle, int index) => handle.PollIndex == index && handle.Dump!.State == DumpState.AwaitingWalk;

    /// <summary>A namespace finished its lookups and asks for a full walk: a budget candidate.</summary>
    private void OnAwaitWalk(NamespaceHandle handle)
    {
        ReleaseInFlight(handle);
        _awaiting++;
        var dump = handle.Dump!;
        _walkBudget.Add(handle.PollIndex, dump.UnknownSockets, dump.LastWalk, dump.WalkCostNs);
        if (_plan!.SendInterval == 0) return; // served in order once every namespace has done its lookups (PumpSends)
        // --spread paces namespaces one by one: there is no moment when all have done their lookups, so each
        // walk is judged alone, when it is asked for.
        // (Wait counts as a deferral here: nothing would ask again.)
        if (_walkBudget.TryGrant(Stopwatch.GetTimestamp(), out _) == WalkGrant.Granted) GrantWalk(handle);
        else if (_walkBudget.TakeDeferred(out _)) DeferWalk(handle);
    }

    private void GrantWalk(NamespaceHandle handle)
    {
        _awaiting--;
        handle.InFlight = true;
        _inFlight++;
        Apply(handle, handle.Dump!.GrantWalk());
    }

    private void DeferWalk(NamespaceHandle handle)
    {
        _awaiting--;
        Apply(handle, handle.Dump!.DeferWalk());
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
            if (IsWaiting(targets[_nextSpreadIndex], _nextSpreadIndex)) StartDump(targets[_nextSpreadIndex]);
            _nextSpreadIndex++;
            _nextSpreadAt += plan.SendInterval;
            if (_plan != plan) return; // the lane finished meanwhile
        }
        if (_nextSpreadIndex < targets.Length) ArmAt(_spreadFd, _nextSpreadAt, now);
    }

    private static bool IsWaiting(NamespaceHandle handle, int index) => handle.PollIndex == index && handle.Dump!.State == DumpState.Scheduled;

    private void StartDump(NamespaceHandle handle)
    {
        handle.InFlight = true;
        _inFlight++;
        Apply(handle, handle.Dump!.Start(_plan!.StartTimestamp, ReadTcpCounters(handle)));
    }

    /// <summary>
    /// The namespace's TCP counters, read just before its requests go out (so a socket made after the read is
    /// found by the next poll, never hidden); null when it has none or they cannot be read now (counted; the
    /// namespace then finds new sockets at its interval walks).
    /// </summary>
    private TcpSocketCount? ReadTcpCounters(NamespaceHandle handle)
    {
        if (handle.Counters is not { } counters || !Dumps.Settings.UsesTcpCounters) return null;
        var result = counters.Read(out var count);
        if (result == CounterReadResult.Ok) return count;
        if (result == CounterReadResult.Parse) Dumps.Counts.CounterParseFailures++;
        else Dumps.Counts.CounterReadFailures++;
        if (!_counterFailureLogged)
        {
            _counterFailureLogged = true;
            _logger.LogWarning("lane {Lane}: cannot {What} the TCP counters of namespace {Name}; this poll finds its new sockets only if it walks (logged once per lane; counted in xtcp_tcp_counter_failures_total)",
                _index, result == CounterReadResult.Parse ? "parse" : "read", handle.Name);
        }
        return null;
    }

    private void OnDeadline()
    {
        var plan = _plan;
        if (plan == null) return;
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length && _plan == plan; i++)
        {
            if (IsAwaitingWalk(targets[i], i)) DeferWalk(targets[i]); // its lookups are done: deferred, not timed out
            else if (targets[i].PollIndex == i) Apply(targets[i], targets[i].Dump!.OnDeadline());
        }
    }

    private void OnReadable(NamespaceHandle handle)
    {
        if (handle.Dump!.AwaitsLookupAnswersOnly)
        {
            ReadLookupAnswers(handle);
            return;
        }
        for (int read = 0; read < MaxReadsPerEvent && !handle.Removed; read++)
        {
            var frame = _writer.GetMemory(FrameHeader.Size + RecvSize).Span;
            int n = NetlinkSocket.Receive(handle.SocketFd, frame.Slice(FrameHeader.Size, RecvSize), out bool truncated);
            if (truncated) n = -LibC.EMSGSIZE; // cut datagram: the dump lost messages
            if (n < 0)
            {
                int errno = -n;
                if (errno == LibC.EAGAIN) return;
                _logger.LogWarning("lane {Lane}: recv from namespace {Name} failed: errno {Errno}", _index, handle.Name, errno);
                Apply(handle, handle.Dump!.OnReceiveFailed(errno));
                return;
            }
            if (n == 0) return;
            Dumps.Counts.Datagrams++;
            Dumps.Counts.Bytes += n;
            Apply(handle, handle.Dump!.OnDatagram(frame.Slice(FrameHeader.Size, n)), frame, n);
            if (_unflushed >= FlushEveryBytes) Flush();
        }
    }

    /// <summary>
    /// A round of lookups only: up to <see cref="DatagramBatch.Capacity"/> answers in one recvmmsg, each copied
    /// behind its frame header (~500 bytes: cheaper than a syscall each). Dump batches (up to ~32 KiB) are never
    /// read this way: they are received straight into the pipe.
    /// </summary>
    private void ReadLookupAnswers(NamespaceHandle handle)
    {
        int n = _lookupAnswers.Receive(handle.SocketFd);
        if (n < 0)
        {
            int errno = -n;
            if (errno == LibC.EAGAIN) return;
            _logger.LogWarning("lane {Lane}: recv from namespace {Name} failed: errno {Errno}", _index, handle.Name, errno);
            Apply(handle, handle.Dump!.OnReceiveFailed(errno));
            return;
        }
        for (int i = 0; i < n && !handle.Removed; i++)
        {
            var datagram = _lookupAnswers.Datagram(i, out bool truncated);
            if (truncated)
            {
                Apply(handle, handle.Dump!.OnReceiveFailed(LibC.EMSGSIZE)); // cut datagram: an answer was lost
                return;
            }
            if (datagram.Length == 0) continue;
            Dumps.Counts.Datagrams++;
            Dumps.Counts.Bytes += datagram.Length;
            var frame = _writer.GetSpan(FrameHeader.Size + datagram.Length);
            datagram.CopyTo(frame.Slice(FrameHeader.Size));
            Apply(handle, handle.Dump!.OnDatagram(frame.Slice(FrameHeader.Size, datagram.Length)), frame, datagram.Length);
            if (_unflushed >= FlushEveryBytes) Flush();
        }
    }

    /// <summary>
    /// The namespace's destroy socket is readable: each datagram (one message per closed socket, ~380 bytes)
    /// goes to the parse worker as a DestroyEvent frame stamped with the read time. ENOBUFS means the kernel
    /// dropped events on the full socket (and goes on dropping until it is drained): the loss is counted from
    /// sk_drops once drained, and the namespace walks at its next poll.
    /// </summary>
    private void OnDestroyEvents(NamespaceHandle handle)
    {
        var socket = handle.DestroyFd!;
        for (int read = 0; read < MaxReadsPerEvent && !handle.Removed; read++)
        {
            const int headers = FrameHeader.Size + DestroyEventHeader.Size;
            var frame = _writer.GetMemory(headers + RecvSize).Span;
            int n = NetlinkSocket.Receive(socket, frame.Slice(headers, RecvSize), out bool truncated);
            if (n < 0)
            {
                int errno = -n;
                if (errno == LibC.EAGAIN)
                {
                    if (handle.DestroyOverflowing) CountLostEvents(handle); // drained: the episode is over
                    return;
                }
                if (errno == LibC.ENOBUFS)
                {
                    if (!handle.DestroyOverflowing) _logger.LogWarning("lane {Lane}: destroy events of namespace {Name} overflowed its socket; lost events are counted and the namespace walks at its next poll", _index, handle.Name);
                    handle.DestroyOverflowing = true;
                    handle.Dump!.RequestWalk(WalkReason.DestroyOverflow);
                    continue; // what is queued is still there
                }
                _logger.LogWarning("lane {Lane}: recv of destroy events from namespace {Name} failed: errno {Errno}", _index, handle.Name, errno);
                return;
            }
            if (n == 0) return;
            if (truncated)
            {
                Dumps.Counts.DestroyEventsLost++; // never at ~380 bytes; counted, never half-parsed
                handle.Dump!.RequestWalk(WalkReason.DestroyOverflow);
                continue;
            }
            Dumps.Counts.Datagrams++;
            Dumps.Counts.Bytes += n;
            var header = new DestroyEventHeader { NamespaceId = handle.Id, ReadTimeNs = MonotonicClock.UnixNanosNow() };
            MemoryMarshal.Write(frame.Slice(FrameHeader.Size), in header);
            WriteHeader(frame, FrameKind.DestroyEvent, 0, DestroyEventHeader.Size + n, pollId: 0);
            _writer.Advance(headers + n);
            _unflushed += headers + n;
            if (_unflushed >= FlushEveryBytes) Flush();
        }
    }

    /// <summary>Adds the destroy events the kernel dropped since the last count (sk_drops) to the lost count.</summary>
    private void CountLostEvents(NamespaceHandle handle)
    {
        handle.DestroyOverflowing = false;
        long drops = NetlinkSocket.Drops(handle.DestroyFd!);
        if (drops < 0) return;
        // sk_drops is a 32-bit counter in SO_MEMINFO: wrap-around safe difference.
        long lost = (uint)(drops - handle.DestroyDropsCounted);
        handle.DestroyDropsCounted = drops;
        if (lost == 0) return;
        Dumps.Counts.DestroyEventsLost += lost;
        handle.Dump!.RequestWalk(WalkReason.DestroyOverflow);
    }

    /// <summary>
    /// Carries out a dump's step: forward the datagram just read into <paramref name="frame"/> (its header
    /// goes in front of it, no copy), send the requests the dump wrote, end the namespace's part of the poll.
    /// </summary>
    private void Apply(NamespaceHandle handle, DumpStep step, Span<byte> frame = default, int length = 0)
    {
        if (step.Forwards)
        {
            WriteHeader(frame, FrameKind.Datagram, handle.PollIndex, length);
            _writer.Advance(FrameHeader.Size + length);
            _unflushed += FrameHeader.Size + length;
        }
        if (step.Sends)
        {
            var request = Dumps.Requests.Written;
            int sent = NetlinkSocket.Send(handle.SocketFd, request);
            if (sent != request.Length)
            {
                int errno = sent < 0 ? -sent : LibC.EMSGSIZE;
                _logger.LogWarning("lane {Lane}: send to namespace {Name} failed: errno {Errno}", _index, handle.Name, errno);
                step = handle.Dump!.OnSendFailed(errno);
            }
        }
        if (step.Ends) EndDump(handle, step.How);
        else if (step.AwaitsWalk) OnAwaitWalk(handle);
    }

    /// <summary>Writes the namespace's end frame; the lane's poll ends with its last namespace.</summary>
    private void EndDump(NamespaceHandle handle, DumpEnd how)
    {
        if (handle.InFlight && _walkPhase) _walkBudget.WalkEnded(handle.PollIndex, Stopwatch.GetTimestamp());
        ReleaseInFlight(handle);
        int index = handle.PollIndex;
        if (index < 0 || _plan == null) return;
        handle.PollIndex = -1;
        WriteFrame(FrameKind.NamespaceEnd, index, (int)how);
        if (--_remaining == 0) FinishLane();
    }

    private void ReleaseInFlight(NamespaceHandle handle)
    {
        if (!handle.InFlight) return;
        handle.InFlight = false;
        _inFlight--;
    }

    /// <summary>The lane's last namespace ended: LaneDone with the poll's counts; the parse worker reports it.</summary>
    private void FinishLane()
    {
        ThreadAllocations.RecordCurrentThread();
        var counts = Dumps.TakeCounts();
        var span = _writer.GetSpan(FrameHeader.Size + LaneCounts.Size);
        WriteHeader(span, FrameKind.LaneDone, 0, LaneCounts.Size);
        MemoryMarshal.Write(span.Slice(FrameHeader.Size), in counts);
        _writer.Advance(FrameHeader.Size + LaneCounts.Size);
        _unflushed += FrameHeader.Size + LaneCounts.Size;
        _deadlineFd.Disarm();
        _spreadFd.Disarm();
        _walkBudget.EndPoll();
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

    private void WriteHeader(Span<byte> span, FrameKind kind, int nsIndex, int value, int? pollId = null)
    {
        var header = new FrameHeader { Kind = kind, NsIndex = nsIndex, PollId = pollId ?? _plan?.PollId ?? 0, Value = value };
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
