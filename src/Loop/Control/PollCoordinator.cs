using System.Diagnostics;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// Polls, from start to end, on the control thread: assigns opened namespaces to lanes, starts a poll by
/// posting each lane its plan, and is the ONE owner of a poll's end: every parse worker reports its lane's
/// LaneDone with the lane's counts, and when the last lane of the poll has reported, this sums them, calls
/// sink.EndOfPoll (every record of the poll was appended before its lane's report was posted), publishes the
/// poll's metrics and returns the <see cref="PollSummary"/>. No I/O of its own (lanes are mailboxes), so it
/// is tested without namespaces (tests/Loop/PollCoordinatorTests).
/// </summary>
internal sealed class PollCoordinator
{
    private readonly CollectorOptions _options;
    private readonly IReadOnlyList<ILaneMailbox> _lanes;
    private readonly IRecordSink _sink;
    private readonly ILogger _logger;
    private readonly ParseErrorExporter _parseErrors;
    private readonly int[] _assigned;
    private readonly List<NamespaceEntry>[] _laneEntries;
    private ulong _nextHandleId;
    private int _pollId;
    private RunningPoll? _running;
    /// <summary>Snapshot records of the last poll: how many sockets a walk of the shared host table skips past.</summary>
    private long _lastPollSockets;

    public PollCoordinator(CollectorOptions options, IReadOnlyList<ILaneMailbox> lanes, IRecordSink sink, ParseErrorCounters parseErrors, ILogger logger)
    {
        _options = options;
        _lanes = lanes;
        _sink = sink;
        _logger = logger;
        _parseErrors = new ParseErrorExporter(parseErrors);
        _assigned = new int[lanes.Count];
        _laneEntries = new List<NamespaceEntry>[lanes.Count];
        for (int i = 0; i < _laneEntries.Length; i++) _laneEntries[i] = new List<NamespaceEntry>();
    }

    /// <summary>Namespaces attached to a lane.</summary>
    public int NamespacesOpen { get; private set; }

    /// <summary>
    /// Of those, namespaces whose TCP table is the host's (<see cref="NamespaceHandle.SharesHostTable"/>, the daemon's
    /// own namespace included): the one count of that rule, read by the gauge and by the start-up line.
    /// </summary>
    public int NamespacesSharingHostTable { get; private set; }

    public bool PollRunning => _running != null;

    /// <summary>The running (or last) poll's timestamp, CLOCK_REALTIME ns: every snapshot record of it carries this.</summary>
    public long RunningTimestampNs { get; private set; }

    /// <summary>Polls ended so far.</summary>
    public long PollsCompleted { get; private set; }

    /// <summary>Gives an opened namespace's sockets (its dump socket, its destroy-event socket if any) to the lane with the fewest namespaces.</summary>
    public NamespaceHandle Attach(NamespaceEntry entry, OwnedFd socket, ulong inode, int tcpEhashEntries, OwnedFd? destroySocket = null, TcpCounterFiles? counters = null)
    {
        int lane = 0;
        for (int i = 1; i < _assigned.Length; i++) if (_assigned[i] < _assigned[lane]) lane = i;
        var handle = new NamespaceHandle
        {
            Id = ++_nextHandleId, Inode = inode, Name = entry.Name, SocketFd = socket, Lane = lane, TcpEhashEntries = tcpEhashEntries,
            DestroyFd = destroySocket, Counters = counters,
        };
        // Destroy events may come before the namespace's first poll: they carry its identity, no poll timestamp.
        handle.EventContext = ContextFor(entry, handle, timestampNs: 0);
        _assigned[lane]++;
        NamespacesOpen++;
        if (handle.SharesHostTable) NamespacesSharingHostTable++;
        _lanes[lane].Post(new LaneCommand.Add(handle));
        return handle;
    }

    /// <summary>The namespace is gone: its lane ends its dump (Abandoned) and closes the socket.</summary>
    public void Detach(NamespaceHandle handle)
    {
        _assigned[handle.Lane]--;
        NamespacesOpen--;
        if (handle.SharesHostTable) NamespacesSharingHostTable--;
        _lanes[handle.Lane].Post(new LaneCommand.Remove(handle));
    }

    /// <summary>
    /// Starts a poll of every open namespace in <paramref name="entries"/>; false (a counted skipped tick) while
    /// one runs: polls never overlap. Every lane gets a plan, also one without namespaces (it reports at once).
    /// </summary>
    public bool TryStart(IEnumerable<NamespaceEntry> entries, PollTrigger trigger = PollTrigger.Timer)
    {
        if (_running != null)
        {
            LoopMetrics.TicksSkipped.Inc();
            return false;
        }
        foreach (var list in _laneEntries) list.Clear();
        int namespaces = 0;
        foreach (var entry in entries)
        {
            if (entry.Handle is not { } handle) continue;
            _laneEntries[handle.Lane].Add(entry);
            namespaces++;
        }

        long start = Stopwatch.GetTimestamp();
        long timestampNs = MonotonicClock.UnixNanosNow();
        var poll = new RunningPoll(++_pollId, timestampNs, start, namespaces, _lanes.Count) { Trigger = trigger };
        _running = poll;
        RunningTimestampNs = timestampNs;

        TimeSpan window = TimeSpan.Zero;
        if (_options.Spread)
        {
            window = _options.Frequency * (1 - _options.JitterPct / 100.0) - _options.Timeout;
            if (window < TimeSpan.Zero) window = TimeSpan.Zero;
        }
        long deadline = start + MonotonicClock.Ticks(window + _options.Timeout);
        for (int i = 0; i < _lanes.Count; i++)
        {
            var laneEntries = _laneEntries[i];
            var targets = new NamespaceHandle[laneEntries.Count];
            var contexts = new RecordContext[laneEntries.Count];
            for (int t = 0; t < targets.Length; t++)
            {
                targets[t] = laneEntries[t].Handle!;
                contexts[t] = ContextFor(laneEntries[t], targets[t], timestampNs);
                targets[t].EventContext = contexts[t]; // destroy events from now on carry the latest context
            }
            long interval = targets.Length > 0 && window > TimeSpan.Zero ? Math.Max(1, MonotonicClock.Ticks(window) / targets.Length) : 0;
            _lanes[i].Post(new LaneCommand.StartPoll(new LanePlan
            {
                PollId = poll.PollId, StartTimestamp = start, Targets = targets, Contexts = contexts, Deadline = deadline, SendInterval = interval,
                HostSockets = _lastPollSockets, TimeoutTicks = MonotonicClock.Ticks(_options.Timeout),
            }));
        }
        return true;
    }

    /// <summary>
    /// Lane <paramref name="lane"/> finished poll <paramref name="pollId"/>. Returns the poll's summary when this
    /// was its last lane (the poll has then ended: EndOfPoll called, metrics published), else null.
    /// </summary>
    public PollSummary? OnLaneDone(int lane, int pollId, in LaneCounts counts)
    {
        var poll = _running;
        if (poll == null || poll.PollId != pollId || !poll.TakeReport(lane))
            throw new InvalidOperationException($"lane {lane} reported poll {pollId} ended, but the running poll is {poll?.PollId.ToString() ?? "none"} (or the lane reported twice)");
        poll.Counts.Add(counts);
        if (poll.LanesRemaining > 0) return null;
        _running = null;
        return End(poll);
    }

    private PollSummary End(RunningPoll poll)
    {
        ThreadAllocations.RecordCurrentThread();
        ref readonly var counts = ref poll.Counts;
        bool timedOut = counts.Timeouts > 0;
        try { _sink.EndOfPoll(timedOut ? FlushReason.PollTimeout : FlushReason.PollEnd); }
        catch (Exception ex) when (ex is not OutOfMemoryException) { _logger.LogError(ex, "sink failed at the end of poll {Poll}", poll.PollId); }

        double seconds = Stopwatch.GetElapsedTime(poll.StartTimestamp).TotalSeconds;
        // The poll's own counters first, the poll count last: a scrape that sees poll N counted sees its walks,
        // lookups and deferrals too (the harness reads per-poll deltas that way).
        counts.Publish();
        _parseErrors.Export();
        LoopMetrics.PollDuration.Observe(seconds);
        LoopMetrics.LastPollDuration.Set(seconds);
        LoopMetrics.LastPollSockets.Set(counts.Records);
        LoopMetrics.LastPollNamespaces.Set(poll.Namespaces);
        _lastPollSockets = counts.Records;
        ProcessStats.Publish();
        LoopMetrics.Polls.WithLabels(timedOut ? "timeout" : "complete", PollTriggers.Name(poll.Trigger)).Inc();
        PollsCompleted++;
        return new PollSummary(poll.PollId, poll.TimestampNs, poll.Namespaces, counts.Records, timedOut, counts.DumpErrors,
            counts.DestroyEvents, counts.DestroyEventsLost, counts.WalksDeferred);
    }

    private RecordContext ContextFor(NamespaceEntry entry, NamespaceHandle handle, long timestampNs) => new()
    {
        Hostname = _options.Hostname, Netns = entry.Name, NetnsInode = handle.Inode,
        TimestampNs = timestampNs, Label = _options.Label, Tag = _options.Tag, Location = _options.Location,
        DaemonVersion = _options.DaemonVersion, SocketFd = (ulong)handle.SocketFd.Number,
        Attribution = entry.Attribution.Latest, // the namespace's owner as known now, with the names found so far
    };


    /// <summary>The poll that runs: what every lane has reported so far.</summary>
    private sealed class RunningPoll(int pollId, long timestampNs, long startTimestamp, int namespaces, int lanes)
    {
        private ulong _reported;

        public int PollId { get; } = pollId;
        /// <summary>CLOCK_REALTIME ns at the start: every record's timestamp.</summary>
        public long TimestampNs { get; } = timestampNs;
        public long StartTimestamp { get; } = startTimestamp;
        public int Namespaces { get; } = namespaces;
        public PollTrigger Trigger { get; init; }
        public int LanesRemaining { get; private set; } = lanes;
        public LaneCounts Counts;

        /// <summary>Records the lane's report; false if it had already reported.</summary>
        public bool TakeReport(int lane)
        {
            ulong bit = 1UL << lane;
            if ((uint)lane >= 64 || (_reported & bit) != 0) return false;
            _reported |= bit;
            LanesRemaining--;
            return true;
        }
    }
}
