using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// What one lane's dumps did in one poll: counted by the lane thread (its <see cref="NamespaceDump"/>s and its
/// reads) in plain fields, carried to the parse worker in the lane's LaneDone frame (blittable), completed
/// with the records the worker appended, and summed by the control thread, which publishes the metrics once
/// per poll. Events between polls (a discarded reply read after a deadline) count in the next poll.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LaneCounts
{
    /// <summary>Bytes of the LaneDone frame's payload.</summary>
    public static int Size => Unsafe.SizeOf<LaneCounts>();

    public long Datagrams;
    public long Bytes;
    /// <summary>Records appended to the sink (filled in by the parse worker).</summary>
    public long Records;
    /// <summary>Namespaces not done by the deadline (or still discarding an earlier dump at poll start).</summary>
    public int Timeouts;
    /// <summary>Namespaces whose dump ended with NLMSG_ERROR, a failed send or a failed/cut recv.</summary>
    public int DumpErrors;
    /// <summary>In-flight dumps ended because their namespace was removed.</summary>
    public int Abandoned;
    /// <summary>Dumps with NLM_F_DUMP_INTR (counted once per namespace per poll).</summary>
    public int Interrupts;
    /// <summary>Namespaces that refused the compat request and switched to v2 for good.</summary>
    public int CompatFallbacks;
    /// <summary>Exact lookups answered with the socket / with ENOENT (the socket was dropped from the known set).</summary>
    public int LookupsFound;
    public int LookupsMissing;
    /// <summary>Dumps that walked a table, by <see cref="WalkReason"/>.</summary>
    public WalkCounts Walks;
    /// <summary>Namespaces whose full walk this poll's walk budget put off to a later poll.</summary>
    public int WalksDeferred;
    /// <summary>Reads of namespaces' TCP counter files that failed, or whose text did not parse.</summary>
    public int CounterReadFailures;
    public int CounterParseFailures;
    /// <summary>Destroy-event records appended (filled in by the parse worker; events between polls count in the next).</summary>
    public long DestroyEvents;
    /// <summary>Destroy events the kernel dropped on a full multicast socket (sk_drops), each followed by a walk.</summary>
    public long DestroyEventsLost;

    public void Add(in LaneCounts other)
    {
        Timeouts += other.Timeouts;
        DumpErrors += other.DumpErrors;
        Abandoned += other.Abandoned;
        Interrupts += other.Interrupts;
        CompatFallbacks += other.CompatFallbacks;
        LookupsFound += other.LookupsFound;
        LookupsMissing += other.LookupsMissing;
        for (int i = 0; i < WalkCounts.Length; i++) Walks[i] += other.Walks[i];
        WalksDeferred += other.WalksDeferred;
        CounterReadFailures += other.CounterReadFailures;
        CounterParseFailures += other.CounterParseFailures;
        DestroyEvents += other.DestroyEvents;
        DestroyEventsLost += other.DestroyEventsLost;
        Datagrams += other.Datagrams;
        Bytes += other.Bytes;
        Records += other.Records;
    }
}

/// <summary>One count per <see cref="WalkReason"/> (blittable, inline in <see cref="LaneCounts"/>).</summary>
[InlineArray(Length)]
internal struct WalkCounts
{
    public const int Length = 11;
    private int _element;
}
