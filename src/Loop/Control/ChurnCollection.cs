using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// After <see cref="CollectorOptions.GcAfterCloses"/> namespaces have closed, one full compacting collection
/// that gives the emptied GC regions back to the kernel, run between two polls and at most once a minute.
/// <para>
/// Why: a namespace that lives through a gen0 collection leaves ~4-5 KB of managed objects (its entry, handle,
/// fd handles, dump state, socket arrays) that die in gen1/gen2, which the GC collects rarely (1 gen2 in the
/// container soak's hour). Under churn that garbage builds up to the gen2 budget, and when it is collected the
/// heap falls but RSS keeps the peak (the GC keeps emptied regions committed for reuse). So RSS rose in steps
/// with the namespaces replaced, and a leak would look the same (PERFORMANCE "Container soak"). With one
/// aggressive collection per few hundred closed namespaces, RSS follows the live namespaces instead.
/// </para>
/// <para>
/// Cost: one blocking full GC of a 10-20 MB heap, a few ms (<c>xtcp_gc_after_closes_seconds_total</c>);
/// runs on the control thread after a poll has ended, so no dump is paused, and never more than once a
/// minute, whatever the churn. Owner: the control thread.
/// </para>
/// </summary>
internal sealed class ChurnCollection
{
    /// <summary>Fewest seconds between two collections: bounds the cost under mass churn (5,000 namespaces gone at once).</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(60);

    private readonly int _closesPerCollection;
    private readonly Action _collect;
    private int _closedSince;
    private long _lastTicks;
    private bool _collectedOnce;

    /// <param name="closesPerCollection">Closed namespaces that make a collection due (0 = never).</param>
    /// <param name="collect">The collection (tests count calls; the daemon's is <see cref="CollectAndGiveBack"/>).</param>
    public ChurnCollection(int closesPerCollection, Action? collect = null)
    {
        _closesPerCollection = closesPerCollection;
        _collect = collect ?? CollectAndGiveBack;
    }

    /// <summary>Namespaces closed since the last collection.</summary>
    public int ClosedSince => _closedSince;

    public void NamespaceClosed() => _closedSince++;

    /// <summary>Between polls: collects if enough namespaces have closed and the last collection is a minute old. True if it ran.</summary>
    public bool CollectIfDue(long nowTicks)
    {
        if (_closesPerCollection <= 0 || _closedSince < _closesPerCollection) return false;
        if (_collectedOnce && nowTicks - _lastTicks < MonotonicClock.Ticks(MinInterval)) return false;
        _closedSince = 0;
        _lastTicks = nowTicks;
        _collectedOnce = true;
        _collect();
        return true;
    }

    /// <summary>
    /// A blocking, compacting gen2 collection in <see cref="GCCollectionMode.Aggressive"/> mode, which also
    /// decommits the free regions (a plain gen2 keeps them committed, and RSS with them).
    /// </summary>
    private static void CollectAndGiveBack()
    {
        var pausedBefore = GC.GetTotalPauseDuration();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        LoopMetrics.GcAfterCloses.Inc();
        LoopMetrics.GcAfterClosesSeconds.Inc((GC.GetTotalPauseDuration() - pausedBefore).TotalSeconds);
    }
}
