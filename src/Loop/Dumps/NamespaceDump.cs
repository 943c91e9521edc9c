using Microsoft.Extensions.Logging;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The request/reply logic of ONE namespace's sock_diag socket, as a state machine without I/O: its lane feeds
/// it events (<see cref="Schedule"/> at poll start, <see cref="Start"/> when its send slot comes,
/// <see cref="OnDatagram"/>, <see cref="OnSendFailed"/>, <see cref="OnReceiveFailed"/>, <see cref="OnDeadline"/>,
/// <see cref="OnRemoved"/>) and does what each returned <see cref="DumpStep"/> says: forward the datagram to the
/// parser, send the requests this object wrote into the lane's <see cref="RequestBuffer"/>, end the namespace's
/// part of the poll. Every path is unit tested on synthetic datagrams (tests/Loop/Dumps), without root.
/// Lives as long as the namespace's socket. Owner: its lane's thread, for every field (a test may drive one alone).
/// <para>
/// What it carries (design/ARCHITECTURE.md, "Polls"): the compat → v2 fallback; v2's second family (AF_INET6
/// only after AF_INET's DONE: one dump in flight per socket, else EBUSY); rounds of exact lookups of the
/// namespace's known sockets, alone or riding a dump's sendmsg, and the walks between them (the plan, in
/// NamespaceDump.Rounds.cs); sequence numbers (replies to anything but this poll's requests are dropped);
/// Discarding after a deadline or a recv error while the kernel still runs the dump; NLM_F_DUMP_INTR counted
/// once per poll.
/// </para>
/// </summary>
internal sealed partial class NamespaceDump
{
    private readonly string _name;
    private readonly DumpContext _context;
    /// <summary>net.ipv4.tcp_ehash_entries read in the namespace: its table's buckets, negative when shared with the host, 0 unknown.</summary>
    private readonly int _tableBuckets;
    private readonly bool _sharesHostTable;

    // ---- across polls
    private DumpState _state;
    private bool _useV2;
    /// <summary>Discarding: the sequence of the dump whose DONE ends the discard.</summary>
    private uint _discardSeq;

    // ---- the running poll
    private long _pollStart;
    private bool _interruptCounted;
    private RequestRound _round;
    /// <summary>v2: the AF_INET6 request of the round's dump is the one sent.</summary>
    private bool _secondFamily;
    /// <summary>A dump request of this round was sent and its DONE (or error) has not come yet.</summary>
    private bool _dumpRunning;
    private uint _dumpSeq;
    /// <summary>The round's lookups use sequences _lookupFirstSeq .. + _lookupsSent - 1.</summary>
    private uint _lookupFirstSeq;
    private int _lookupsSent;
    private int _lookupsPending;
    /// <summary>The round's dump reports sockets whose keys are being collected into <see cref="_known"/>.</summary>
    private bool _collecting;
    /// <summary>The kernel's count of the namespace's TCP sockets, read by the lane as the poll's requests began (null: not read).</summary>
    private TcpSocketCount? _kernelCount;
    /// <summary>What this poll's requests found of the sockets the counters count (lookups, established dumps, LISTEN walks).</summary>
    private TcpSocketCount _found;
    /// <summary>The listeners among <see cref="_found"/> that lookups found (a LISTEN walk reports them again).</summary>
    private TcpSocketCount _foundListenersByLookup;
    private bool _establishedDumped, _listenersWalked;

    /// <param name="namespaceId">Spreads the namespace's walks over the interval.</param>
    /// <param name="tcpEhashEntries">net.ipv4.tcp_ehash_entries read inside the namespace (negative: it walks the host's table; 0: unknown).</param>
    public NamespaceDump(ulong namespaceId, string name, DumpContext context, int tcpEhashEntries = 0)
    {
        _name = name;
        _context = context;
        _tableBuckets = tcpEhashEntries;
        _sharesHostTable = tcpEhashEntries <= 0;
        _useV2 = context.Settings.Mode == RequestMode.V2;
        _schedule = new WalkSchedule(context.Settings.WalkIntervalTicks, namespaceId);
        if (context.Settings.WalkIntervalTicks > 0) _known = new KnownSockets();
    }

    public DumpState State => _state;

    /// <summary>The lane-wide context this dump writes its requests and counts into.</summary>
    public DumpContext Context => _context;

    /// <summary>v2 requests (mode v2, or compat refused by this namespace's kernel).</summary>
    public bool UsesV2 => _useV2;

    /// <summary>In the running poll and not ended yet (waiting for its slot, dumping, or waiting for a walk).</summary>
    public bool InPoll => _state is DumpState.Scheduled or DumpState.Dumping or DumpState.AwaitingWalk;

    /// <summary>
    /// Only answers to exact lookups are expected now (no dump runs on the socket): small datagrams, all queued
    /// inside the sendmsg that asked, which the lane reads in batches (recvmmsg).
    /// </summary>
    public bool AwaitsLookupAnswersOnly => _state == DumpState.Dumping && !_dumpRunning && _lookupsPending > 0;

    private ref LaneCounts Counts => ref _context.Counts;

    /// <summary>
    /// A poll starts with this namespace in it. Ends it at once (a counted timeout) if the socket still drains a
    /// timed-out dump: a second dump there would be refused (EBUSY) and its replies mixed with the old ones.
    /// </summary>
    public DumpStep Schedule()
    {
        if (_state == DumpState.Discarding) return Ended(DumpEnd.Timeout);
        if (_state != DumpState.Idle) throw new InvalidOperationException($"namespace {_name}: scheduled while {_state}");
        _state = DumpState.Scheduled;
        return DumpStep.None;
    }

    /// <summary>
    /// The namespace's send slot came: writes the first round of the poll's plan (then Send).
    /// <paramref name="kernelCount"/>: the namespace's TCP counters read just now (null: not read, or unreadable),
    /// against which this poll's lookups are checked for sockets nobody knows yet.
    /// </summary>
    public DumpStep Start(long pollStart, TcpSocketCount? kernelCount = null)
    {
        if (_state != DumpState.Scheduled) throw new InvalidOperationException($"namespace {_name}: started while {_state}");
        _pollStart = pollStart;
        _interruptCounted = false;
        _kernelCount = _known != null ? kernelCount : null;
        _found = _foundListenersByLookup = default;
        _establishedDumped = _listenersWalked = false;
        _pendingWalk = null;
        return BeginRound(FirstRound(pollStart));
    }

    /// <summary>One datagram read from the socket.</summary>
    public DumpStep OnDatagram(ReadOnlySpan<byte> datagram)
    {
        var summary = SockDiagReader.Summarize(datagram);
        if (_state == DumpState.Discarding)
        {
            if (summary.EndsDump && summary.Sequence == _discardSeq) _state = DumpState.Idle;
            return DumpStep.None;
        }
        if (_state != DumpState.Dumping) return DumpStep.None; // a stray (of an ended dump): drop
        if (!_dumpRunning || summary.Sequence != _dumpSeq)
            return IsLookupReply(summary.Sequence) ? OnLookupReply(summary, datagram) : DumpStep.None;

        if (summary.ErrorNumber != 0 && !_useV2 && IsCompatRefusal(summary.ErrorNumber))
        {
            _context.Logger.LogInformation("namespace {Name} refused the compat request (errno {Errno}); using v2 requests", _name, summary.ErrorNumber);
            Counts.CountCompatFallback();
            _useV2 = true;
            // The round's lookups were v2 requests already: their answers still come. Only the dump is asked again.
            return SendDump();
        }
        // The one place a live dump's NLM_F_DUMP_INTR is read: counted here once per poll, and the step tells the
        // parse worker to flag the records (it never reads the flag itself).
        if (summary.DumpInterrupted && !_interruptCounted)
        {
            _interruptCounted = true;
            Counts.CountInterrupt();
        }
        var step = DumpStep.None;
        if (summary.SocketMessages > 0)
        {
            if (_collecting) _known!.Collect(datagram);
            if (CountsFound && _round.Kind != RoundKind.Walk)
            {
                var listeners = default(TcpSocketCount);
                SockDiagReader.CountHashed(datagram, ref _found, ref listeners);
            }
            step = summary.DumpInterrupted ? DumpStep.ForwardInterrupted : DumpStep.Forward;
        }
        if (summary.ErrorNumber != 0)
        {
            _context.Logger.LogDebug("namespace {Name}: dump ended with errno {Errno}", _name, summary.ErrorNumber);
            _dumpRunning = false; // the kernel ended it
            return step.Then(Finish(DumpEnd.Error));
        }
        if (!summary.Done) return step;
        if (_useV2 && !_secondFamily)
        {
            _secondFamily = true;
            return step.Then(SendDump()); // one dump in flight per socket: AF_INET6 only after AF_INET's DONE
        }
        _dumpRunning = false;
        return _lookupsPending == 0 ? step.Then(RoundComplete()) : step;
    }

    /// <summary>The send of the requests this dump wrote failed: nothing was started on the socket.</summary>
    public DumpStep OnSendFailed(int errno)
    {
        if (_state != DumpState.Dumping) return DumpStep.None;
        _dumpRunning = false;
        return Finish(DumpEnd.Error);
    }

    /// <summary>
    /// recv failed (ENOBUFS: the socket overflowed and replies were dropped; EMSGSIZE: a datagram was cut).
    /// Data is lost, so the namespace's poll ends with an error; but a dump the kernel runs goes on after the
    /// error, to its DONE, so it is discarded, never left to meet the next poll's request (EBUSY).
    /// (A cut datagram that held the DONE would leave the discard waiting: reads are 64 KiB, batches ≤ 32 KiB.)
    /// </summary>
    public DumpStep OnReceiveFailed(int errno)
    {
        if (_state != DumpState.Dumping) return DumpStep.None; // Discarding: its DONE still ends the discard
        return _dumpRunning ? Discard(DumpEnd.Error) : Finish(DumpEnd.Error);
    }

    /// <summary>
    /// The poll's deadline passed: a namespace still in it is a counted timeout; one waiting for a walk is not
    /// (its lookups are done): its walk is deferred.
    /// </summary>
    public DumpStep OnDeadline() => _state switch
    {
        DumpState.Scheduled => Finish(DumpEnd.Timeout),
        DumpState.AwaitingWalk => DeferWalk(),
        // Only lookup answers outstanding: no dump runs on the socket, nothing to discard.
        DumpState.Dumping => _dumpRunning ? Discard(DumpEnd.Timeout) : Finish(DumpEnd.Timeout),
        _ => DumpStep.None,
    };

    /// <summary>The namespace is gone (its lane closes the socket): a dump in the poll is abandoned.</summary>
    public DumpStep OnRemoved()
    {
        if (!InPoll) return DumpStep.None;
        _dumpRunning = false;
        return Finish(DumpEnd.Abandoned);
    }

    /// <summary>Whether this poll's requests count what they find (the namespace's counters were read).</summary>
    private bool CountsFound => _kernelCount.HasValue;

    /// <summary>Errors with which a kernel says "no TCPDIAG_GETSOCK here" (then v2 is used).</summary>
    private static bool IsCompatRefusal(int errno) => errno == EINVAL || errno == EOPNOTSUPP || errno == ENOENT || errno == EPROTONOSUPPORT;
}
