using System.Diagnostics;

namespace XtcpEpoll.Loop.Polling;

/// <summary>What <see cref="WalkBudget.TryGrant"/> decided for the next candidate.</summary>
internal enum WalkGrant : byte
{
    /// <summary>Send its walk now.</summary>
    Granted,
    /// <summary>Not yet: the first walks are still showing what walks cost here. Ask again when one ends.</summary>
    Wait,
    /// <summary>It does not fit before the cut-off: defer it and every one after it.</summary>
    Defer,
}

/// <summary>
/// One lane's budget for the full walks of shared-table namespaces in a poll (issue 19; no I/O; owner: the lane
/// thread, through its <see cref="WalkQueue"/>: all fields, kept across polls for the correction).
/// Each such walk visits the host's whole TCP table (~1 ms of buckets + 57 ns per host socket), so a burst of
/// them (start-up, many namespaces opening connections at once) could outlast the poll. The lane collects the
/// poll's walk candidates while lookups run, then <see cref="Order"/>s them (most unknown sockets first, then
/// the longest unwalked) and grants them one by one while the walks in flight and the next one fit, at their
/// estimated cost, before the cut-off: the deadline less a tenth of --timeout, kept for the parse pipeline and
/// for estimates that were too low. What does not fit is deferred to a later poll (served by lookups
/// meanwhile), never timed out.
/// <para>
/// The estimate is <see cref="NamespaceDump"/>'s cost model times a correction measured on this lane: the kernel
/// work of a walk runs inside the lane's send/recv, one core, so the wall time of a walk phase is its cost, load
/// and all. The correction is the larger of the last polls' (kept across polls) and this poll's so far (elapsed
/// phase time over the model cost of the walks finished in it, once a few have), so a first poll whose model
/// is far off (the host's socket count is not known before a poll has counted it) corrects itself after its
/// first walks instead of running past its deadline.
/// </para>
/// </summary>
internal sealed class WalkBudget
{
    /// <summary>
    /// Share of --timeout kept free of new walks at the end of a poll: for estimates that were low and for the
    /// parse pipeline. The estimate covers the walks in flight and is corrected within the poll, so a tenth is
    /// enough; a larger reserve would defer first walks that fit in a 1 s timeout (design/PERFORMANCE.md,
    /// "Figures behind the lane's constants").
    /// </summary>
    public const double ReserveShare = 0.1;
    /// <summary>Walks finished in a phase before its own measurement is trusted (the first ones still queue behind each other).</summary>
    private const int LiveMinimum = 4;

    private readonly List<Candidate> _candidates = new();
    /// <summary>Model cost (ticks) of each granted walk still running, by target index.</summary>
    private double[] _running = new double[16];
    private int _next;
    private long _cutoff;
    private double _runningModelTicks;
    private long _phaseStart, _phaseEnd;
    private double _finishedModelTicks;
    private int _finished, _granted;
    /// <summary>An earlier poll measured this lane's walks (<see cref="Correction"/> is a measurement, not the model).</summary>
    private bool _calibrated;

    /// <summary>Measured wall time per modelled tick of walk, from earlier polls (starts at the model; clamped against outliers).</summary>
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
        Array.Clear(_running);
        _runningModelTicks = 0;
        _phaseStart = _phaseEnd = 0;
        _finishedModelTicks = 0;
        _finished = _granted = 0;
    }

    /// <summary>A namespace (by its index in the lane's plan) waits for a walk.</summary>
    public void Add(int target, int unknownSockets, long lastWalk, double costNs) =>
        _candidates.Add(new Candidate(target, unknownSockets, lastWalk, costNs * Stopwatch.Frequency / 1e9));

    /// <summary>Orders the waiting candidates: most unknown sockets first, then the longest since its last walk.</summary>
    public void Order() => _candidates.Sort(_next, _candidates.Count - _next, CandidateOrder.Instance);

    /// <summary>
    /// Grants the next candidate if the walks in flight and its own fit before the cut-off from <paramref name="now"/>;
    /// else it stays first, to wait or to be deferred with the rest (<see cref="TakeDeferred"/>). The first walk of a phase is judged against the clock alone, so a lane always
    /// makes progress early in a poll. Before any measurement (a lane's first walks) only a few walks run until
    /// they have finished: the model may be off by an order of magnitude on a loaded host.
    /// </summary>
    public WalkGrant TryGrant(long now, out int target)
    {
        target = -1;
        if (_next == _candidates.Count || now >= _cutoff) return WalkGrant.Defer;
        // Nothing measured yet (the first poll's walks): a few walks first, the rest once they have shown their cost.
        if (!_calibrated && _finished < LiveMinimum && _granted >= LiveMinimum) return WalkGrant.Wait;
        var candidate = _candidates[_next];
        if (_phaseStart != 0 && now + (_runningModelTicks + candidate.CostTicks) * CurrentCorrection(now) > _cutoff) return WalkGrant.Defer;
        if (_phaseStart == 0) _phaseStart = now;
        _next++;
        _granted++;
        target = candidate.Target;
        if (target >= _running.Length) Array.Resize(ref _running, Math.Max(target + 1, _running.Length * 2));
        _running[target] = candidate.CostTicks;
        _runningModelTicks += candidate.CostTicks;
        return WalkGrant.Granted;
    }

    /// <summary>The next candidate to defer (false when none is left).</summary>
    public bool TakeDeferred(out int target)
    {
        target = -1;
        if (_next == _candidates.Count) return false;
        target = _candidates[_next++].Target;
        return true;
    }

    /// <summary>The granted walk of <paramref name="target"/> ended at <paramref name="now"/> (done, or cut).</summary>
    public void WalkEnded(int target, long now)
    {
        if ((uint)target >= (uint)_running.Length || _running[target] == 0) return;
        _finishedModelTicks += _running[target];
        _runningModelTicks -= _running[target];
        _running[target] = 0;
        _finished++;
        _phaseEnd = Math.Max(_phaseEnd, now);
    }

    /// <summary>
    /// The poll's walks are over: the measured phase over the modelled one corrects the next polls' estimates.
    /// Walks dearer than estimated take the measurement at once (an estimate too low is what runs a poll past
    /// its deadline); cheaper ones move it halfway (one quiet poll should not invite the next to overcommit).
    /// Clamped to 0.25-64. Phases under 5 ms of model say little (a few walks and epoll latency): ignored.
    /// </summary>
    public void EndPoll()
    {
        if (_phaseStart == 0 || _phaseEnd <= _phaseStart || _finishedModelTicks < Stopwatch.Frequency / 200) return;
        double measured = (_phaseEnd - _phaseStart) / _finishedModelTicks;
        _calibrated = true;
        Correction = Math.Clamp(measured > Correction ? measured : (Correction + measured) / 2, 0.25, 64);
    }

    /// <summary>The larger of the earlier polls' correction and this phase's own, once it has finished a few walks.</summary>
    private double CurrentCorrection(long now)
    {
        if (_finished < LiveMinimum || _finishedModelTicks <= 0) return Correction;
        return Math.Max(Correction, (now - _phaseStart) / _finishedModelTicks);
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
