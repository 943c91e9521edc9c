namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// When each namespace of a lane's poll may send its first requests: all at once, with at most
/// <see cref="MaxInFlight"/> dumps in flight (a freed slot is topped up after the next epoll batch), or, with
/// --spread, one turn per send interval from the poll's start, in plan order (the cap does not apply: the
/// interval is the pacing). Turns go to plan indexes; a turn whose namespace is no longer waiting is simply
/// used up. Pure (no I/O, no clock: the lane passes Stopwatch ticks); owner: the lane thread.
/// </summary>
internal sealed class SendPacer
{
    /// <summary>
    /// Dumps in flight per lane. Each costs the kernel a dump batch (≤ ~32 KiB) queued on its socket and the
    /// initial hash-table walk inside send(); sending all namespaces' requests at once would block the lane in
    /// send() for namespaces x walk (~1-5 ms each) before it reads anything or sees its deadline.
    /// </summary>
    public const int MaxInFlight = 32;

    private int _targets;
    private int _next;
    private int _inFlight;
    private long _interval;
    private long _nextTurnAt;

    /// <summary>Dumps holding an in-flight slot.</summary>
    public int InFlight => _inFlight;

    /// <summary>--spread: turns come one per interval (the lane's spread timer asks for them).</summary>
    public bool Spreads => _interval > 0;

    /// <summary>Another dump (or a granted walk) may start now.</summary>
    public bool HasFreeSlot => _inFlight < MaxInFlight;

    /// <summary>Every namespace of the poll has had its turn.</summary>
    public bool AllTurnsTaken => _next == _targets;

    /// <param name="sendInterval">Ticks between two turns (--spread); 0 = all at once.</param>
    public void StartPoll(int targets, long sendInterval, long now)
    {
        _targets = targets;
        _next = 0;
        _interval = sendInterval;
        _nextTurnAt = now;
    }

    /// <summary>The poll is over: no turns left, no slot held.</summary>
    public void EndPoll()
    {
        _targets = _next = _inFlight = 0;
        _interval = 0;
    }

    /// <summary>The next plan index whose turn has come at <paramref name="now"/> (false: none yet, or none left).</summary>
    public bool TryNextTurn(long now, out int target)
    {
        target = -1;
        if (_next >= _targets) return false;
        if (_interval > 0)
        {
            if (_nextTurnAt > now) return false;
            _nextTurnAt += _interval;
        }
        else if (_inFlight >= MaxInFlight) return false;
        target = _next++;
        return true;
    }

    /// <summary>--spread: when the next turn comes (false: not spreading, or every turn taken).</summary>
    public bool NextTurnAt(out long at)
    {
        at = _nextTurnAt;
        return _interval > 0 && _next < _targets;
    }

    /// <summary>A dump (or a granted walk) took a slot.</summary>
    public void Acquire() => _inFlight++;

    /// <summary>A dump that held a slot ended, or now waits for a walk without one.</summary>
    public void Release() => _inFlight--;
}
