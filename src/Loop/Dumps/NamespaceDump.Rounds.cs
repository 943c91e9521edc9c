using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The request plan of a namespace's poll: which <see cref="RequestRound"/> comes first and which follows a
/// completed one (design/ARCHITECTURE.md, "Known sockets"). The mechanics in NamespaceDump.cs (sequences,
/// families, lookup answers, discarding) do not depend on it.
/// <list type="bullet">
/// <item>A full walk (every wanted state) at the namespace's first poll, once per --walk-interval (staggered,
/// <see cref="WalkSchedule"/>), after a walk that did not complete, and after lost destroy events. It
/// rebuilds the known sockets.</item>
/// <item>Between full walks the established table is dumped (without LISTEN / BOUND_INACTIVE, whose tables
/// are host-wide) and the known listeners are looked up in the same sendmsg when that table is cheap to walk
/// (the namespace owns it) or when the known sockets are too many to look up for less (<see cref="WalkCost"/>);
/// otherwise every known socket is looked up and nothing is walked.</item>
/// <item>Lookups go out in batches of at most <see cref="RequestBuffer.MaxLookups"/> per sendmsg, one round
/// each; a missed listener lookup is followed by a LISTEN walk in the same poll.</item>
/// </list>
/// </summary>
internal sealed partial class NamespaceDump
{
    /// <summary>Known sockets (null with --walk-interval 0: every poll walks, nothing is looked up).</summary>
    private readonly KnownSockets? _known;
    private readonly WalkSchedule _schedule;
    /// <summary>This poll's scheduled full walk (first, interval, retry, destroy_overflow), asked for once its lookups are done.</summary>
    private WalkReason? _pendingWalk;
    /// <summary>The walk this namespace waits for (<see cref="DumpState.AwaitingWalk"/>).</summary>
    private WalkReason _awaitedWalk;
    /// <summary>An earlier poll's budget deferred this namespace's walk (its next walk counts as "deferred").</summary>
    private bool _deferred;

    public KnownSockets? Known => _known;

    /// <summary>Asks for a full walk at the next poll (lost destroy events: the lane heard ENOBUFS).</summary>
    public void RequestWalk(WalkReason reason) => _schedule.Request(reason);

    /// <summary>A full walk asked for and not done yet (for tests and logs).</summary>
    public WalkReason? RequestedWalk => _schedule.Requested;

    private RequestRound FirstRound(long pollStart)
    {
        var settings = _context.Settings;
        if (_known == null)
        {
            CountWalk(WalkReason.Interval);
            return new RequestRound(RoundKind.Walk, settings.States);
        }
        _known.StartPoll();
        if (_schedule.Due(pollStart, out var reason))
        {
            if (!_sharesHostTable)
            {
                // Its own table: the walk is cheap (its own buckets and sockets) and never waits for the lane's budget.
                CountWalk(reason);
                _known.BeginCollect(KeyScope.All);
                return new RequestRound(RoundKind.Walk, settings.States, Collect: KeyScope.All);
            }
            // A walk of the host's table: its known sockets are served by lookups first, then the lane grants the
            // walk or defers it (AfterRounds), so a deferred walk still leaves the poll with every known socket.
            _pendingWalk = reason;
        }
        uint established = settings.States & ~TcpStates.InHostWideTables;
        var listeners = _known.ListenersUnreachable ? null : _known.Listeners;
        if (established != 0 && _pendingWalk == null && WalksEstablishedTable())
        {
            CountWalk(_sharesHostTable ? WalkReason.Dense : WalkReason.OwnTable);
            _known.BeginCollect(KeyScope.Connections);
            return Batch(RoundKind.Main, established, listeners, 0, KeyScope.Connections);
        }
        return Batch(RoundKind.Main, 0, listeners == null ? _known.Connections : _known.All, 0, KeyScope.None);
    }

    /// <summary>
    /// The next batch of the set being looked up; then, if a listener's lookup missed (closed, replaced by a
    /// new socket on the same address, or unreachable: an SO_REUSEPORT group answers for one member only, BPF
    /// sk_lookup may redirect), a LISTEN walk in this same poll, so no live listener goes unreported. Records
    /// the walk sends again are dropped by the parser's cookie dedupe.
    /// </summary>
    private RequestRound? NextRound(in RequestRound finished)
    {
        if (finished.Lookups is { } set && finished.LookupStart + finished.LookupCount < set.Count)
            return Batch(RoundKind.Lookups, 0, set, finished.LookupStart + finished.LookupCount, KeyScope.None);
        if (_known == null || finished.Kind is RoundKind.Walk or RoundKind.ListenerWalk) return null;
        if ((_context.Settings.States & TcpStates.Listen) == 0) return null;
        if (!_known.AnyListenerMissed && !_known.ListenersUnreachable) return null;
        CountWalk(_known.ListenersUnreachable ? WalkReason.Unreachable : WalkReason.LookupMiss);
        _known.BeginCollect(KeyScope.Listeners);
        return new RequestRound(RoundKind.ListenerWalk, TcpStates.Listen, Collect: KeyScope.Listeners);
    }

    /// <summary>
    /// Between full walks: dump the established table (true) or look every known socket up (false)? A table the
    /// namespace owns is always walked (cheaper than lookups, <see cref="WalkCost"/>, and new connections
    /// show at every poll); a shared one only when its known sockets would cost more to look up.
    /// </summary>
    private bool WalksEstablishedTable()
    {
        if (!_sharesHostTable) return true;
        int buckets = _tableBuckets != 0 ? Math.Abs(_tableBuckets) : WalkCost.DefaultTableBuckets;
        return !WalkCost.LookupsCheaper(_known!.ConnectionCount, buckets, _context.HostSockets, _useV2 ? 2 : 1);
    }

    private static RequestRound Batch(RoundKind kind, uint states, ILookupSet? set, int start, KeyScope collect)
    {
        int count = set == null ? 0 : Math.Min(set.Count - start, RequestBuffer.MaxLookups);
        return new RequestRound(kind, states, set, start, count, collect);
    }

    /// <summary>The round completed: its collected keys are trusted; a full walk re-arms the schedule.</summary>
    private void RoundCompleted(in RequestRound round)
    {
        if (round.Collect == KeyScope.None) return;
        _known!.EndCollect();
        if (round.Kind == RoundKind.Walk) _schedule.Completed(_pollStart);
    }

    /// <summary>The poll ended before the round completed: a collection it ran is partial, so walk again.</summary>
    private void RoundAborted(in RequestRound round)
    {
        if (round.Collect == KeyScope.None || _known == null) return;
        _known.AbortCollect();
        _schedule.Aborted();
    }

    /// <summary>
    /// Every round of the poll is complete. A scheduled walk of the host's table is asked of the lane now. Else, if
    /// the kernel counts more sockets than this poll's requests found, some are unknown: a namespace whose
    /// established table was dumped can only be missing listeners (a LISTEN walk, here and now); one served by
    /// lookups asks the lane for a full walk. Races err one way: the counters were read before the requests, so
    /// a socket made since is found at the next poll, and one closed since costs at most an extra walk.
    /// </summary>
    private DumpStep AfterRounds()
    {
        if (_round.Kind == RoundKind.Walk) return Finish(DumpEnd.Done);
        if (_pendingWalk is { } scheduled) return AwaitWalk(scheduled);
        int unknown = UnknownSockets;
        if (unknown == 0)
        {
            _deferred = false; // a deferred walk for unknown sockets that have gone meanwhile is owed no more
            return Finish(DumpEnd.Done);
        }
        if (!_establishedDumped) return AwaitWalk(WalkReason.Unknown);
        if (_listenersWalked || (_context.Settings.States & TcpStates.Listen) == 0) return Finish(DumpEnd.Done);
        CountWalk(WalkReason.UnknownListeners);
        _known!.BeginCollect(KeyScope.Listeners);
        return BeginRound(new RequestRound(RoundKind.ListenerWalk, TcpStates.Listen, Collect: KeyScope.Listeners));
    }

    private DumpStep AwaitWalk(WalkReason reason)
    {
        _awaitedWalk = reason;
        _state = DumpState.AwaitingWalk;
        return DumpStep.AwaitWalk;
    }

    /// <summary>Sockets the namespace's counters hold beyond what this poll's requests found (0 when not counted).</summary>
    public int UnknownSockets => _kernelCount is { } kernel ? TcpSocketCount.Beyond(kernel, _found) : 0;

    /// <summary>Start of the poll of the namespace's last full walk (long.MinValue: never walked): the budget serves older first.</summary>
    public long LastWalk => _schedule.LastWalk;

    /// <summary>
    /// Kernel time of a full walk of this namespace (ns, before the lane's own measurement corrects it): its
    /// table, the host's sockets in it, and its own sockets.
    /// </summary>
    public double WalkCostNs
    {
        get
        {
            int buckets = _tableBuckets != 0 ? Math.Abs(_tableBuckets) : WalkCost.DefaultTableBuckets;
            int own = _known == null ? 0 : _known.ListenerCount + _known.ConnectionCount;
            return WalkCost.WalkNs(buckets, _context.HostSockets, own, _useV2 ? 2 : 1);
        }
    }

    /// <summary>The lane grants the walk this namespace waits for: it is sent now (it rebuilds every known socket).</summary>
    public DumpStep GrantWalk()
    {
        if (_state != DumpState.AwaitingWalk) throw new InvalidOperationException($"namespace {_name}: walk granted while {_state}");
        CountWalk(_deferred ? WalkReason.Deferred : _awaitedWalk);
        _deferred = false;
        _pendingWalk = null;
        _known!.BeginCollect(KeyScope.All);
        return BeginRound(new RequestRound(RoundKind.Walk, _context.Settings.States, Collect: KeyScope.All));
    }

    /// <summary>
    /// The lane's walk budget is spent (or the deadline came): the walk waits for a later poll. The namespace's
    /// part of this poll is done (its lookups were answered); a scheduled walk stays due, one for unknown
    /// sockets is asked again if they are still there.
    /// </summary>
    public DumpStep DeferWalk()
    {
        if (_state != DumpState.AwaitingWalk) return DumpStep.None;
        _deferred = true;
        Counts.CountWalkDeferred();
        return Finish(DumpEnd.Done);
    }

    private void CountWalk(WalkReason reason) => Counts.CountWalk(reason);
}
