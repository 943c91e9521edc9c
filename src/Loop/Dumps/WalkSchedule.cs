namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// Why a namespace's dump walks a kernel table in a poll (the <c>reason</c> label of xtcp_walks_total).
/// A full walk dumps every wanted state and rebuilds the namespace's known sockets; the others dump part of it.
/// </summary>
internal enum WalkReason : byte
{
    /// <summary>Full walk: the namespace's first poll (nothing known yet).</summary>
    First,
    /// <summary>Full walk: its --walk-interval came around (0: at every poll).</summary>
    Interval,
    /// <summary>Full walk: the last walk did not complete (deadline, error), so the known sockets are partial.</summary>
    Retry,
    /// <summary>Full walk: destroy events of the namespace were lost (its multicast socket overflowed).</summary>
    DestroyOverflow,
    /// <summary>Established-table dump between full walks: the namespace owns a table (cheap to walk).</summary>
    OwnTable,
    /// <summary>Established-table dump between full walks: so many known sockets that looking them up costs more than the walk.</summary>
    Dense,
    /// <summary>LISTEN walk in the same poll: a known listener's lookup missed (closed, replaced, or unreachable).</summary>
    LookupMiss,
    /// <summary>LISTEN walk: the namespace has a listener a lookup cannot reach (SO_REUSEPORT group, BPF sk_lookup).</summary>
    Unreachable,
    /// <summary>Full walk: the namespace's TCP counters hold more sockets than this poll's lookups found (new ones).</summary>
    Unknown,
    /// <summary>Full walk that an earlier poll's walk budget had put off.</summary>
    Deferred,
    /// <summary>LISTEN walk: an own-table namespace's counters hold more sockets than its dump and listener lookups found (a new listener).</summary>
    UnknownListeners,
}

/// <summary>
/// When a namespace walks in full (lane thread only). Each namespace has a fixed phase within the interval,
/// spread by the golden ratio over namespace ids, and walks at the first poll of each interval window
/// [k x interval - phase, (k+1) x interval - phase): namespaces opened together walk together only at their
/// first poll, then each poll walks about poll period / interval of them, and a walk out of turn (a retry, lost
/// destroy events) never moves the phase, so the share stays even however polls went.
/// </summary>
internal sealed class WalkSchedule
{
    private readonly long _intervalTicks;
    private readonly long _phase;
    private long _lastWindow;
    private bool _walked;
    private long _lastWalk = long.MinValue;
    private bool _incomplete;
    private WalkReason? _requested;

    /// <param name="intervalTicks">Stopwatch ticks between full walks; 0 = at every poll.</param>
    /// <param name="namespaceId">Spreads the phase (ids of namespaces opened together are consecutive).</param>
    public WalkSchedule(long intervalTicks, ulong namespaceId)
    {
        _intervalTicks = intervalTicks;
        if (intervalTicks > 0) _phase = (long)((namespaceId * 0x9E3779B97F4A7C15UL >> 1) % (ulong)intervalTicks);
    }

    /// <summary>Whether this poll walks in full, and why.</summary>
    public bool Due(long pollStart, out WalkReason reason)
    {
        if (!_walked) { reason = WalkReason.First; return true; }
        if (_incomplete) { reason = WalkReason.Retry; return true; }
        if (_requested is { } requested) { reason = requested; return true; }
        reason = WalkReason.Interval;
        return _intervalTicks == 0 || Window(pollStart) != _lastWindow;
    }

    /// <summary>A full walk completed in the poll that started at <paramref name="pollStart"/>.</summary>
    public void Completed(long pollStart)
    {
        _walked = true;
        _lastWalk = pollStart;
        _incomplete = false;
        _requested = null;
        if (_intervalTicks > 0) _lastWindow = Window(pollStart);
    }

    /// <summary>A dump that rebuilds known sockets did not complete: the next poll walks in full.</summary>
    public void Aborted()
    {
        if (_walked) _incomplete = true;
    }

    /// <summary>Start (Stopwatch ticks) of the poll of the last completed full walk; long.MinValue: never walked.</summary>
    public long LastWalk => _lastWalk;

    /// <summary>A walk asked for by <see cref="Request"/> and not done yet.</summary>
    public WalkReason? Requested => _requested;

    /// <summary>Asks for a full walk at the next poll (e.g. destroy events were lost).</summary>
    public void Request(WalkReason reason) => _requested ??= reason;

    private long Window(long pollStart) => (pollStart + _phase) / _intervalTicks;
}
