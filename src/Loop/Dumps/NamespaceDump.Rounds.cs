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
            CountWalk(reason);
            _known.BeginCollect(KeyScope.All);
            return new RequestRound(RoundKind.Walk, settings.States, Collect: KeyScope.All);
        }
        uint established = settings.States & ~TcpStates.InHostWideTables;
        var listeners = _known.ListenersUnreachable ? null : _known.Listeners;
        if (established != 0 && WalksEstablishedTable())
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
    /// namespace owns is always walked (~13 µs + 0.85 µs per socket: cheaper than lookups, and new connections
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

    private void CountWalk(WalkReason reason) => Counts.Walks[(int)reason]++;
}
