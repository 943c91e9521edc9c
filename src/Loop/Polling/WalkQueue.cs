using XtcpEpoll.Loop.Dumps;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// The namespaces of a lane's poll that wait for a full walk of the host's table (<see cref="DumpState.AwaitingWalk"/>),
/// and the order and verdicts in which the lane serves them through its <see cref="WalkBudget"/>. All at once,
/// the walks are served once every namespace still in the poll waits for one (its lookups are done), in the
/// budget's order; under --spread there is no such moment, so each walk is judged alone when it is asked for.
/// Pure (no I/O, no clock); owner: the lane thread.
/// </summary>
internal sealed class WalkQueue
{
    private readonly WalkBudget _budget = new();
    private int _awaiting;
    private bool _serving;
    /// <summary>A candidate did not fit: it and every one after it are deferred.</summary>
    private bool _deferring;

    /// <summary>Namespaces of the running poll waiting for a walk.</summary>
    public int Awaiting => _awaiting;

    /// <summary>The budgeted walks are being served (every namespace of the poll had done its lookups).</summary>
    public bool Serving => _serving;

    public void StartPoll(long deadline, long timeoutTicks)
    {
        _awaiting = 0;
        _serving = _deferring = false;
        _budget.StartPoll(deadline, timeoutTicks);
    }

    /// <summary>The poll is over: the walks it measured correct the next polls' estimates.</summary>
    public void EndPoll() => _budget.EndPoll();

    /// <summary>Plan index <paramref name="target"/> finished its lookups and waits for a walk.</summary>
    public void Add(int target, int unknownSockets, long lastWalk, double costNs)
    {
        _awaiting++;
        _budget.Add(target, unknownSockets, lastWalk, costNs);
    }

    /// <summary>A waiting namespace left the queue: its walk was granted or deferred, or it was removed.</summary>
    public void Left() => _awaiting--;

    /// <summary>All at once: whether to serve walks now (every turn taken and every namespace left waits).</summary>
    public bool ShouldServe(bool allTurnsTaken, int namespacesLeft) =>
        allTurnsTaken && (_serving || (_awaiting > 0 && _awaiting == namespacesLeft));

    /// <summary>
    /// All at once: the next verdict in the budget's order at <paramref name="now"/>, for a free in-flight slot:
    /// <paramref name="grant"/> true = walk now, false = defer (once one is deferred, so is every one after it).
    /// False when none is left, or when the budget waits for a walk to end (ask again after the next epoll batch).
    /// </summary>
    public bool TryNext(long now, out int target, out bool grant)
    {
        if (!_serving)
        {
            _serving = true;
            _budget.Order();
        }
        grant = false;
        target = -1;
        if (_budget.Waiting == 0) return false;
        if (!_deferring)
        {
            var verdict = _budget.TryGrant(now, out target);
            if (verdict == WalkGrant.Wait) return false;
            if (verdict == WalkGrant.Granted) return grant = true;
            _deferring = true;
        }
        return _budget.TakeDeferred(out target);
    }

    /// <summary>--spread: the walk just asked for, judged alone: true = walk now; else deferred (a wait counts as a deferral here: nothing would ask again).</summary>
    public bool GrantAlone(long now)
    {
        if (_budget.TryGrant(now, out _) == WalkGrant.Granted) return true;
        _budget.TakeDeferred(out _);
        return false;
    }

    /// <summary>A granted walk of <paramref name="target"/> ended (measured only while serving in order).</summary>
    public void WalkEnded(int target, long now)
    {
        if (_serving) _budget.WalkEnded(target, now);
    }
}
