using System.Diagnostics;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's budget for the full walks of shared-table namespaces in a poll (issue 19; lane thread only, no I/O).
/// Each such walk visits the host's whole TCP table (~1 ms of buckets + 57 ns per host socket), so a burst of
/// them (start-up, many namespaces opening connections at once) could outlast the poll. The lane collects the
/// poll's walk candidates while lookups run, then <see cref="Order"/>s them (most unknown sockets first, then
/// the longest unwalked) and grants them one by one while their estimated cost fits before the cut-off:
/// the deadline less a fifth of --timeout, kept for the walks already running and for the parse pipeline.
/// What does not fit is deferred to a later poll (served by lookups meanwhile), never timed out.
/// The estimate is <see cref="NamespaceDump"/>'s cost model times this lane's measured correction: the wall
/// time of the last poll's walk phase over what the model predicted for it (the kernel work of a walk runs
/// inside the lane's send/recv, one core, so wall time is its cost, load and all).
/// </summary>
internal sealed class WalkBudget
{
    /// <summary>Share of --timeout kept free of new walks at the end of a poll.</summary>
    public const double ReserveShare = 0.2;

    private readonly List<Candidate> _candidates = new();
    private int _next;
    private long _cutoff;
    /// <summary>Where the lane's timeline stands with every granted walk done, by the estimates (Stopwatch ticks).</summary>
    private long _committedUntil;
    private long _phaseStart, _phaseEnd;
    private double _grantedModelTicks;

    /// <summary>Measured wall time per modelled tick of walk (starts at the model; clamped against outliers).</summary>
    public double Correction { get; private set; } = 1.0;

    /// <summary>Candidates waiting for a grant or deferral.</summary>
    public int Waiting => _candidates.Count - _next;

    /// <summary>Stopwatch ticks after which no walk is granted.</summary>
    public long Cutoff => _cutoff;

    /// <summary>A new poll: no candidates; walks may start until <paramref name="deadline"/> - reserve.</summary>
    public void StartPoll(long deadline, long timeoutTicks)
    {
        _candidates.Clear();
        _next = 0;
        _cutoff = deadline - (long)(timeoutTicks * ReserveShare);
        _committedUntil = 0;
        _phaseStart = _phaseEnd = 0;
        _grantedModelTicks = 0;
    }

    /// <summary>A namespace (by its index in the lane's plan) waits for a walk.</summary>
    public void Add(int target, int unknownSockets, long lastWalk, double costNs) =>
        _candidates.Add(new Candidate(target, unknownSockets, lastWalk, costNs * Stopwatch.Frequency / 1e9));

    /// <summary>Orders the waiting candidates: most unknown sockets first, then the longest since its last walk.</summary>
    public void Order() => _candidates.Sort(_next, _candidates.Count - _next, CandidateOrder.Instance);

    /// <summary>
    /// The next candidate if its walk fits before the cut-off at <paramref name="now"/> (then it is granted),
    /// else false and the candidate stays first (the lane defers it and the rest with <see cref="TakeDeferred"/>).
    /// The first walk of a phase is judged against the clock alone, so a lane always makes progress early in a poll.
    /// </summary>
    public bool TryGrant(long now, out int target)
    {
        target = -1;
        if (_next == _candidates.Count) return false;
        var candidate = _candidates[_next];
        long cost = (long)(candidate.CostTicks * Correction);
        long startsAt = Math.Max(_committedUntil, now);
        if (now >= _cutoff || (_phaseStart != 0 && startsAt + cost > _cutoff)) return false;
        if (_phaseStart == 0) _phaseStart = now;
        _committedUntil = startsAt + cost;
        _grantedModelTicks += candidate.CostTicks;
        _next++;
        target = candidate.Target;
        return true;
    }

    /// <summary>The next candidate to defer (false when none is left).</summary>
    public bool TakeDeferred(out int target)
    {
        target = -1;
        if (_next == _candidates.Count) return false;
        target = _candidates[_next++].Target;
        return true;
    }

    /// <summary>A granted walk ended at <paramref name="now"/> (the phase's measured end so far).</summary>
    public void WalkEnded(long now) => _phaseEnd = Math.Max(_phaseEnd, now);

    /// <summary>
    /// The poll's walks are over: the measured phase over the modelled one corrects the next estimates. Walks
    /// dearer than estimated take the measurement at once (an estimate too low is what runs a poll past its
    /// deadline); cheaper ones move it halfway (one quiet poll should not invite the next to overcommit).
    /// Clamped to 0.25-64. Phases under 5 ms of model say little (a few walks and epoll latency): ignored.
    /// </summary>
    public void EndPoll()
    {
        if (_phaseStart == 0 || _phaseEnd <= _phaseStart || _grantedModelTicks < Stopwatch.Frequency / 200) return;
        double measured = (_phaseEnd - _phaseStart) / _grantedModelTicks;
        Correction = Math.Clamp(measured > Correction ? measured : (Correction + measured) / 2, 0.25, 64);
    }

    private readonly record struct Candidate(int Target, int UnknownSockets, long LastWalk, double CostTicks);

    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();

        public int Compare(Candidate x, Candidate y)
        {
            int byUnknown = y.UnknownSockets.CompareTo(x.UnknownSockets);
            if (byUnknown != 0) return byUnknown;
            int byAge = x.LastWalk.CompareTo(y.LastWalk);
            return byAge != 0 ? byAge : x.Target.CompareTo(y.Target);
        }
    }
}
