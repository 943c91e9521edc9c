using System.Collections.Concurrent;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// Socket cgroup id (INET_DIAG_CGROUP_ID = the cgroup v2 directory's inode) → the container/pod it belongs to.
/// Parse workers read an immutable snapshot (a plain Dictionary published with a volatile write: lock-free
/// lookups, no allocation); the attribution thread replaces it after each walk of the hierarchy.
/// <para>
/// The snapshot holds the container and pod cgroups found by the last walk, plus ids known to be neither
/// (<see cref="RecordAttribution.None"/>): an id a parse worker missed and that a walk started after the miss
/// did not find is a cgroup outside any container, or one deleted since (its sockets outlive it). Cgroup ids
/// are never reused on 64-bit kernels (kernfs ids carry a generation), so that answer is final and such an
/// id costs one walk, not one per interval forever. Both parts are bounded (<see cref="MaxOwned"/>,
/// <see cref="MaxUnowned"/>; past the second the unowned ids are forgotten and relearned).
/// </para>
/// </summary>
internal sealed class CgroupAttributionCache
{
    public const int MaxOwned = 65_536;
    public const int MaxUnowned = 65_536;

    private Dictionary<ulong, RecordAttribution> _snapshot = new();
    private readonly ConcurrentDictionary<ulong, byte> _misses = new();
    private int _missSignalled;
    private Action? _onFirstMiss;

    /// <summary>The current snapshot (never mutated once published). Parse workers only read it.</summary>
    public Dictionary<ulong, RecordAttribution> Current => Volatile.Read(ref _snapshot);

    /// <summary>Set once by the owner: called (on a parse thread) when a miss arrives and none was pending.</summary>
    public void OnFirstMiss(Action callback) => _onFirstMiss = callback;

    /// <summary>Misses wait for a walk.</summary>
    public bool HasMisses => Volatile.Read(ref _missSignalled) != 0;

    /// <summary>A parse worker met an unknown id: remember it for the next walk, and wake the walker once.</summary>
    public void ReportMiss(ulong cgroupId)
    {
        _misses.TryAdd(cgroupId, 0);
        if (Interlocked.Exchange(ref _missSignalled, 1) == 0) _onFirstMiss?.Invoke();
    }

    /// <summary>Attribution thread: walk, then publish the new snapshot. Returns what the walk saw.</summary>
    public CgroupWalker.Result Refresh(CgroupWalker walker, AttributionInterner interner, ulong rootInode)
    {
        // Misses observed before this walk starts are settled by it; later ones wait for the next.
        Volatile.Write(ref _missSignalled, 0);
        var settled = new List<ulong>(_misses.Count);
        foreach (var (id, _) in _misses)
        {
            settled.Add(id);
            _misses.TryRemove(id, out _);
        }

        var previous = Current;
        var next = new Dictionary<ulong, RecordAttribution>(Math.Max(16, previous.Count));
        var result = walker.Walk(interner, next, MaxOwned);
        if (result.RootMissing)
        {
            // Nothing learnt (hierarchy unmounted?): keep what we knew rather than forget every container.
            foreach (var id in settled) _misses.TryAdd(id, 0);
            return result;
        }
        int unowned = 0;
        foreach (var (id, known) in previous)
        {
            if (!known.IsNone || unowned >= MaxUnowned) continue;
            if (next.TryAdd(id, RecordAttribution.None)) unowned++;
        }
        foreach (var id in settled)
        {
            if (unowned >= MaxUnowned) break;
            if (next.TryAdd(id, RecordAttribution.None)) unowned++;
        }
        if (rootInode != 0) next.TryAdd(rootInode, RecordAttribution.None); // the root cgroup is no container's
        Volatile.Write(ref _snapshot, next);
        return result;
    }

    /// <summary>Container and pod cgroups in the current snapshot.</summary>
    public int OwnedCount
    {
        get
        {
            int n = 0;
            foreach (var (_, a) in Current) if (!a.IsNone) n++;
            return n;
        }
    }
}
