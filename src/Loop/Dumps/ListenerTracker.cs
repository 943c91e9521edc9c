using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>What one poll's dump of a namespace does about the states found in host-wide tables.</summary>
internal enum ListenerAction : byte
{
    /// <summary>Dump every wanted state: walks the host-wide listening and bind tables.</summary>
    Walk,
    /// <summary>Dump without LISTEN/BOUND_INACTIVE and fetch each known listener by exact lookup (a hash lookup each).</summary>
    LookUp,
}

/// <summary>
/// One namespace's listeners as the last walk of the shared tables found them, and when to walk again
/// (lane thread only). The kernel finds LISTEN sockets by walking the listening hash and BOUND_INACTIVE
/// ones by walking the bind hash; both are host-wide even for namespaces that own their established table,
/// so each walk visits every listener and every bound socket of the host. Measured here (design/
/// PERFORMANCE.md): ~13 µs for the rest of a small own-table namespace's dump, +10-60 µs for the listening
/// hash, +~270 µs for the bind hash with ~20,000 sockets on the host. Walking them once per
/// --shared-tables-refresh and looking the known listeners up in between is what makes a poll of 1,000
/// small namespaces cost tens of milliseconds of kernel time instead of hundreds.
/// </summary>
internal sealed class ListenerTracker : ILookupSet
{
    /// <summary>
    /// Lookups per namespace per poll. They go in the same sendmsg as the dump request and the kernel
    /// answers each inside that call, so every reply (~1-2 KiB of skb each) is queued on the socket at once
    /// beside the dump's first batch (~32 KiB); 32 keeps that under a third of the default 208 KiB receive
    /// buffer, beyond which the kernel drops replies (ENOBUFS). More listeners than this: walk every poll.
    /// </summary>
    public const int MaxTracked = 32;

    private readonly SocketKey[] _keys = new SocketKey[MaxTracked];
    private readonly ulong[] _missed = new ulong[MaxTracked];
    private int _count;          // may exceed MaxTracked: then the keys are not all known
    private int _missedCount;
    private long _nextWalk;      // Stopwatch ticks; 0 = due now
    private bool _walkedOnce;
    private bool _refreshWalk;   // the running walk is the periodic one (it re-arms the refresh)
    private bool _unreachable;   // a listener exists that its lookup cannot find (SO_REUSEPORT group, BPF sk_lookup)

    /// <summary>Listeners whose keys are known (valid for lookups only when <see cref="Plan"/> said LookUp).</summary>
    public int Count => Math.Min(_count, MaxTracked);

    public ref readonly SocketKey Key(int index) => ref _keys[index];

    /// <summary>A lookup of this poll found nothing: the listener closed, was replaced, or cannot be reached.</summary>
    public bool AnyMissed => _missedCount > 0;

    /// <summary>Decides this poll's action; <paramref name="reason"/> is the metric label when it walks.</summary>
    public ListenerAction Plan(long pollStart, out WalkReason reason)
    {
        _missedCount = 0;
        reason = WalkReason.Refresh;
        if (!_walkedOnce || pollStart >= _nextWalk)
        {
            _unreachable = false;
            _refreshWalk = true;
            return ListenerAction.Walk;
        }
        if (_unreachable || _count > MaxTracked)
        {
            reason = WalkReason.Untracked;
            return ListenerAction.Walk;
        }
        return ListenerAction.LookUp;
    }

    public void BeginWalk() => _count = 0;

    /// <summary>Keeps the keys of the LISTEN sockets of one datagram of the running walk.</summary>
    public void Collect(ReadOnlySpan<byte> datagram) => _count = SockDiagReader.CollectListeners(datagram, _keys, _count);

    public void Missed(int lookupIndex)
    {
        if ((uint)lookupIndex < (uint)Count && _missedCount < _missed.Length) _missed[_missedCount++] = _keys[lookupIndex].Cookie;
    }

    /// <summary>
    /// The walk completed. After a walk that followed missed lookups, a missed listener that the walk still
    /// finds is one its lookup cannot reach: walk at every poll until the next refresh.
    /// </summary>
    public void EndWalk(long pollStart, long refreshTicks, ulong namespaceId, bool afterMissedLookups)
    {
        if (afterMissedLookups)
            for (int i = 0; i < Count && !_unreachable; i++)
                _unreachable = Array.IndexOf(_missed, _keys[i].Cookie, 0, _missedCount) >= 0;
        if (_refreshWalk)
        {
            // The first interval is staggered over the whole interval (golden-ratio spacing of ids): the
            // namespaces opened together then walk in even shares at every later poll, not all at one.
            long interval = refreshTicks;
            if (!_walkedOnce && refreshTicks > 1)
                interval = 1 + (long)((namespaceId * 0x9E3779B97F4A7C15UL >> 1) % (ulong)refreshTicks);
            _nextWalk = pollStart + interval;
            _walkedOnce = true;
            _refreshWalk = false;
        }
    }

    /// <summary>The walk did not complete (timeout, error, removal): what was collected is partial.</summary>
    public void AbortWalk()
    {
        _walkedOnce = false;
        _refreshWalk = false;
    }
}

internal enum WalkReason : byte { Refresh, LookupMiss, Untracked }
