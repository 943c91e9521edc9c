using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// A parse worker's per-socket step: the container/pod of a socket's own cgroup, from the cgroup cache's
/// snapshot (lock-free, no allocation; a one-entry memo skips the lookup for consecutive sockets of one
/// cgroup, the common case within a namespace). Unknown ids are reported once per snapshot for the next
/// walk and the socket falls back to its namespace's attribution. Counts are kept in fields and published
/// once per poll (no shared-counter traffic per record). One instance per parse worker (not thread-safe).
/// </summary>
internal sealed class SocketAttributor
{
    private readonly CgroupAttributionCache? _cache;
    private Dictionary<ulong, RecordAttribution>? _memoSnapshot;
    private ulong _memoId, _memoMissId;
    private RecordAttribution? _memoResult;
    private long _hits, _misses, _fromCgroup, _fromNamespace, _without;

    /// <param name="cache">Null when attribution is off: every call returns null and counts nothing.</param>
    public SocketAttributor(CgroupAttributionCache? cache) => _cache = cache;

    /// <summary>Attribution is on.</summary>
    public bool IsOn => _cache != null;

    /// <summary>
    /// The attribution of the socket's own cgroup when it names a container or pod, else null (the record
    /// then carries its namespace's, <see cref="RecordContext.Attribution"/>).
    /// </summary>
    public RecordAttribution? ForSocket(ref ParsedSocket socket, RecordContext context)
    {
        if (_cache == null) return null;
        RecordAttribution? own = null;
        ulong id = socket.CGroup;
        if ((socket.Present & AttributeSet.CgroupId) != 0 && id != 0)
        {
            var snapshot = _cache.Current;
            if (!ReferenceEquals(snapshot, _memoSnapshot))
            {
                _memoSnapshot = snapshot;
                _memoId = _memoMissId = 0;
            }
            if (id == _memoId)
            {
                _hits++;
                own = _memoResult;
            }
            else if (snapshot.TryGetValue(id, out var known))
            {
                _hits++;
                _memoId = id;
                _memoResult = own = known.IsNone ? null : known;
            }
            else
            {
                _misses++;
                if (id != _memoMissId)
                {
                    _memoMissId = id;
                    _cache.ReportMiss(id);
                }
            }
        }
        if (own != null) _fromCgroup++;
        else if (!context.Attribution.IsNone) _fromNamespace++;
        else _without++;
        return own?.Latest; // with the names found since the cgroup was (one volatile read when none were)
    }

    /// <summary>Adds the counts since the last call to the metrics (the worker calls it at the end of its part of a poll).</summary>
    public void PublishCounts()
    {
        if (_cache == null) return;
        if (_hits != 0) AttributionMetrics.CgroupHits.Inc(_hits);
        if (_misses != 0) AttributionMetrics.CgroupMisses.Inc(_misses);
        if (_fromCgroup != 0) AttributionMetrics.RecordsFromCgroup.Inc(_fromCgroup);
        if (_fromNamespace != 0) AttributionMetrics.RecordsFromNamespace.Inc(_fromNamespace);
        if (_without != 0) AttributionMetrics.RecordsWithout.Inc(_without);
        _hits = _misses = _fromCgroup = _fromNamespace = _without = 0;
    }
}
