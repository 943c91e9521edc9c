using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's dump thread ("xtcp-lane-i"), the I/O shell around the lane's parts: owns an epoll fd with the
/// sock_diag sockets of the namespaces assigned to it, its command mailbox and its timers, and dispatches what
/// epoll reports. The kernel builds dump batches inside the send/recv calls, so N lanes put the kernel's work
/// on N cores. The parts: <see cref="LanePoll"/> (the running poll: send turns, walks, each namespace's
/// <see cref="DumpStep"/>s, the one point where the poll ends), <see cref="DumpSocketReader"/> (replies),
/// <see cref="DestroyEventReader"/> (destroy events and their losses), <see cref="FrameWriter"/> (the pipe).
/// Sockets are level-triggered: when the lane pauses for backpressure (blocked in a flush) a socket with unread
/// data is reported again on the next epoll_wait, nothing is lost or needs re-arming.
/// Owner: the lane thread for every field once started; the control thread only posts commands (the queue
/// and the eventfd are the hand-over).
/// </summary>
internal sealed class Lane : IDisposable, ILaneMailbox
{
    private const ulong CommandKey = ulong.MaxValue, DeadlineKey = ulong.MaxValue - 1, SpreadKey = ulong.MaxValue - 2;
    /// <summary>A destroy socket's epoll key is its handle's id with this bit (ids count up from 1, never near it).</summary>
    private const ulong DestroyKeyBit = 1UL << 62;

    private readonly int _index;
    private readonly ILogger _logger;
    private readonly EventSources _eventSources;
    private readonly ConcurrentQueue<LaneCommand> _commands = new();
    private readonly Action<Exception> _onFault;
    private readonly Dictionary<ulong, NamespaceHandle> _handles = new();
    private readonly Epoll _epoll;
    private readonly EventFd _commandFd;
    private readonly TimerFd _deadlineFd, _spreadFd;
    private readonly Thread _thread;
    private readonly FrameWriter _frames;
    private readonly LanePoll _poll;
    private readonly DumpSocketReader _replies;
    private readonly DestroyEventReader _destroyEvents;
    private bool _stopped;

    public Lane(int index, CollectorOptions options, PipeWriter writer, PlanSlot planSlot, EventSources eventSources, Action<Exception> onFault, ILogger logger)
    {
        _index = index;
        _eventSources = eventSources;
        _onFault = onFault;
        _logger = logger;
        // Sequence numbers per lane, from (index + 1) << 24: distinct across lanes in logs and captures.
        DumpContext = new DumpContext(DumpSettings.From(options), new RequestBuffer((uint)(index + 1) << 24), logger);
        _epoll = Epoll.Create();
        _commandFd = EventFd.Create();
        _deadlineFd = TimerFd.Create();
        _spreadFd = TimerFd.Create();
        _epoll.Add(_commandFd.Handle, CommandKey);
        _epoll.Add(_deadlineFd.Handle, DeadlineKey);
        _epoll.Add(_spreadFd.Handle, SpreadKey);
        _frames = new FrameWriter(writer);
        _poll = new LanePoll(index, DumpContext, _frames, planSlot, _deadlineFd, _spreadFd, logger);
        _replies = new DumpSocketReader(index, DumpContext, _frames, _poll, logger);
        _destroyEvents = new DestroyEventReader(index, DumpContext, _frames, logger);
        _thread = new Thread(Run) { IsBackground = true, Name = $"xtcp-lane-{index}" };
    }

    public int Index => _index;

    /// <summary>What this lane's namespace dumps share (settings, request buffer, counts); lane thread only once started.</summary>
    public DumpContext DumpContext { get; }

    public void Start() => _thread.Start();

    public void Post(LaneCommand command)
    {
        _commands.Enqueue(command);
        _commandFd.Signal();
    }

    public void Join() => _thread.Join();

    public void Dispose()
    {
        _replies.Dispose();
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
                    Dispatch(Epoll.Key(events[i]));
                    _poll.EndIfOver();
                }
                _poll.PumpSends();
                _poll.EndIfOver();
                _frames.Flush();
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "lane {Lane} died", _index);
            _frames.Complete(ex);
            _onFault(ex);
            return;
        }
        _frames.Complete();
    }

    private void Dispatch(ulong key)
    {
        if (key == CommandKey) { _commandFd.Drain(); RunCommands(); }
        else if (key == DeadlineKey) { _deadlineFd.Drain(); _poll.OnDeadline(); }
        else if (key == SpreadKey) { _spreadFd.Drain(); _poll.SendDueTurns(); }
        else if ((key & DestroyKeyBit) != 0) { if (_handles.TryGetValue(key & ~DestroyKeyBit, out var owner)) _destroyEvents.OnReadable(owner); }
        else if (_handles.TryGetValue(key, out var handle)) _replies.OnReadable(handle);
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
                    _poll.Start(start.Plan);
                    break;
                case LaneCommand.Stop:
                    _poll.OnDeadline();
                    _poll.EndIfOver(); // LaneDone before the NamespaceGone frames of the closes
                    foreach (var handle in _handles.Values) Close(handle);
                    _handles.Clear();
                    _stopped = true;
                    break;
            }
            _poll.EndIfOver();
        }
    }

    private void AddHandle(NamespaceHandle handle)
    {
        if (!handle.HasDump) handle.GiveDump(new NamespaceDump(handle.Id, handle.Name, DumpContext, handle.TcpEhashEntries));
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
        _poll.Remove(handle);
        Close(handle);
    }

    private void Close(NamespaceHandle handle)
    {
        _epoll.Remove(handle.SocketFd);
        handle.SocketFd.Dispose();
        handle.Counters?.Dispose();
        if (handle.DestroyFd is { IsClosed: false } destroyFd)
        {
            _destroyEvents.OnClosing(handle);
            _epoll.Remove(destroyFd);
            destroyFd.Dispose();
        }
        if (handle.DestroyFd != null) _frames.NamespaceGone(handle.Id);
        handle.Removed = true;
    }
}
