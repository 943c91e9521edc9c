using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XtcpEpoll.Loop.Metrics;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// What one lane's dumps did in one poll, and the ONE type that counts it: every count has a method here and
/// is published from here, so a new poll metric touches this file (plus its LoopMetrics definition and the
/// README's table). The others only report: the lane thread's <see cref="NamespaceDump"/>s and readers
/// (<see cref="DumpContext.Counts"/>), the parse worker (<see cref="AddRecords"/>), the control thread
/// (<see cref="Add"/>, <see cref="Publish"/>).
/// <para>
/// Owner: a value handed from thread to thread, never shared. The lane thread counts into its
/// DumpContext's copy, which the LaneDone frame carries (blittable) to the parse worker; the worker completes
/// its own copy with the records it appended and posts it to the control thread, which sums the lanes' copies
/// and publishes once per poll. Events between polls (a discarded reply read after a deadline) count in the next poll.
/// </para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LaneCounts
{
    /// <summary>Bytes of the LaneDone frame's payload.</summary>
    public static int Size => Unsafe.SizeOf<LaneCounts>();

    private long _datagrams, _bytes, _records;
    private int _timeouts, _dumpErrors, _abandoned, _interrupts, _compatFallbacks, _lookupsFound, _lookupsMissing;
    private WalkCounts _walks;
    private int _walksDeferred, _counterReadFailures, _counterParseFailures;
    private long _destroyEvents, _destroyEventsLost;

    // Read by the control thread (and tests, which also build counts with initializers).
    public long Datagrams { readonly get => _datagrams; init => _datagrams = value; }
    public long Bytes { readonly get => _bytes; init => _bytes = value; }
    /// <summary>Records appended to the sink (by the parse worker).</summary>
    public long Records { readonly get => _records; init => _records = value; }
    /// <summary>Namespaces not done by the deadline (or still discarding an earlier dump at poll start).</summary>
    public int Timeouts { readonly get => _timeouts; init => _timeouts = value; }
    /// <summary>Namespaces whose dump ended with NLMSG_ERROR, a failed send or a failed/cut recv.</summary>
    public int DumpErrors { readonly get => _dumpErrors; init => _dumpErrors = value; }
    /// <summary>In-flight dumps ended because their namespace was removed.</summary>
    public int Abandoned { readonly get => _abandoned; init => _abandoned = value; }
    /// <summary>Dumps with NLM_F_DUMP_INTR (counted once per namespace per poll).</summary>
    public int Interrupts { readonly get => _interrupts; init => _interrupts = value; }
    /// <summary>Namespaces that refused the compat request and switched to v2 for good.</summary>
    public int CompatFallbacks { readonly get => _compatFallbacks; init => _compatFallbacks = value; }
    /// <summary>Exact lookups answered with the socket / with ENOENT (the socket was dropped from the known set).</summary>
    public int LookupsFound { readonly get => _lookupsFound; init => _lookupsFound = value; }
    public int LookupsMissing { readonly get => _lookupsMissing; init => _lookupsMissing = value; }
    /// <summary>Dumps that walked a table, by <see cref="WalkReason"/>.</summary>
    public readonly WalkCounts Walks => _walks;
    /// <summary>Namespaces whose full walk this poll's walk budget put off to a later poll.</summary>
    public int WalksDeferred { readonly get => _walksDeferred; init => _walksDeferred = value; }
    /// <summary>Reads of namespaces' TCP counter files that failed, or whose text did not parse.</summary>
    public int CounterReadFailures { readonly get => _counterReadFailures; init => _counterReadFailures = value; }
    public int CounterParseFailures { readonly get => _counterParseFailures; init => _counterParseFailures = value; }
    /// <summary>Destroy-event records appended (by the parse worker; events between polls count in the next).</summary>
    public long DestroyEvents { readonly get => _destroyEvents; init => _destroyEvents = value; }
    /// <summary>Destroy events the kernel dropped on a full multicast socket (sk_drops), each followed by a walk.</summary>
    public long DestroyEventsLost { readonly get => _destroyEventsLost; init => _destroyEventsLost = value; }

    // ---- lane thread: its dumps and readers report here

    /// <summary>One datagram read from a namespace's dump or destroy-event socket.</summary>
    public void CountRead(int bytes)
    {
        _datagrams++;
        _bytes += bytes;
    }

    /// <summary>A namespace's part of the poll ended; only the failures are counted.</summary>
    public void CountEnd(DumpEnd how)
    {
        switch (how)
        {
            case DumpEnd.Timeout: _timeouts++; break;
            case DumpEnd.Error: _dumpErrors++; break;
            case DumpEnd.Abandoned: _abandoned++; break;
        }
    }

    public void CountInterrupt() => _interrupts++;
    public void CountCompatFallback() => _compatFallbacks++;
    public void CountLookup(bool found) { if (found) _lookupsFound++; else _lookupsMissing++; }
    public void CountWalk(WalkReason reason) => _walks[(int)reason]++;
    public void CountWalkDeferred() => _walksDeferred++;
    public void CountCounterFailure(bool parse) { if (parse) _counterParseFailures++; else _counterReadFailures++; }
    public void CountDestroyEventsLost(long lost) => _destroyEventsLost += lost;

    // ---- parse worker

    /// <summary>The records the parse worker appended for this poll's snapshot and for destroy events.</summary>
    public void AddRecords(long records, long destroyEvents)
    {
        _records += records;
        _destroyEvents += destroyEvents;
    }

    // ---- control thread

    public void Add(in LaneCounts other)
    {
        _timeouts += other._timeouts;
        _dumpErrors += other._dumpErrors;
        _abandoned += other._abandoned;
        _interrupts += other._interrupts;
        _compatFallbacks += other._compatFallbacks;
        _lookupsFound += other._lookupsFound;
        _lookupsMissing += other._lookupsMissing;
        for (int i = 0; i < WalkCounts.Length; i++) _walks[i] += other._walks[i];
        _walksDeferred += other._walksDeferred;
        _counterReadFailures += other._counterReadFailures;
        _counterParseFailures += other._counterParseFailures;
        _destroyEvents += other._destroyEvents;
        _destroyEventsLost += other._destroyEventsLost;
        _datagrams += other._datagrams;
        _bytes += other._bytes;
        _records += other._records;
    }

    /// <summary>The poll's counters, once per poll (the poll count itself is the caller's, published last).</summary>
    public readonly void Publish()
    {
        LoopMetrics.DumpTimeouts.Inc(_timeouts);
        LoopMetrics.DumpErrors.Inc(_dumpErrors);
        LoopMetrics.DumpsAbandoned.Inc(_abandoned);
        LoopMetrics.DumpInterrupts.Inc(_interrupts);
        LoopMetrics.CompatFallbacks.Inc(_compatFallbacks);
        LoopMetrics.LookupsFound.Inc(_lookupsFound);
        LoopMetrics.LookupsMissing.Inc(_lookupsMissing);
        for (int i = 0; i < WalkCounts.Length; i++) LoopMetrics.WalksByReason[i].Inc(_walks[i]);
        LoopMetrics.WalkDeferrals.Inc(_walksDeferred);
        LoopMetrics.LastPollWalksDeferred.Set(_walksDeferred);
        LoopMetrics.TcpCounterFailuresRead.Inc(_counterReadFailures);
        LoopMetrics.TcpCounterFailuresParse.Inc(_counterParseFailures);
        LoopMetrics.DestroyEvents.Inc(_destroyEvents);
        LoopMetrics.DestroyEventsLost.Inc(_destroyEventsLost);
        LoopMetrics.DatagramsRead.Inc(_datagrams);
        LoopMetrics.BytesRead.Inc(_bytes);
    }
}

/// <summary>One count per <see cref="WalkReason"/> (blittable, inline in <see cref="LaneCounts"/>).</summary>
[InlineArray(Length)]
internal struct WalkCounts
{
    public const int Length = 11;
    private int _element;
}
