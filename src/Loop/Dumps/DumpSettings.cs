using System.Diagnostics;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>What every namespace dump asks the kernel for, derived once from <see cref="CollectorOptions"/>.</summary>
/// <param name="Mode">compat (one walk for both families) or v2 (AF_INET, then AF_INET6).</param>
/// <param name="States">idiag_states wanted (bit = 1 &lt;&lt; TCP state).</param>
/// <param name="IdiagExt">Attributes asked for.</param>
/// <param name="TrackSharedTables">
/// Walk the host-wide listening/bind tables once per refresh and look known listeners up in between: LISTEN or
/// BOUND_INACTIVE is wanted, some other state too (the lookups ride that dump), and the refresh is not 0.
/// </param>
/// <param name="RefreshTicks">Stopwatch ticks between two walks of those tables.</param>
internal sealed record DumpSettings(RequestMode Mode, uint States, byte IdiagExt, bool TrackSharedTables, long RefreshTicks)
{
    public static DumpSettings From(CollectorOptions options) => new(
        options.Request,
        options.States,
        options.IdiagExt,
        // Lookups ride a dump of the other states; with none of those wanted (e.g. --states listen) every
        // poll walks.
        TrackSharedTables: (options.States & TcpStates.InHostWideTables) != 0
            && (options.States & ~TcpStates.InHostWideTables & ~1u) != 0
            && options.SharedTablesRefresh > TimeSpan.Zero,
        // Due at the first poll starting within half a period of the interval's end, so poll jitter never
        // pushes a walk a whole period late.
        RefreshTicks: (long)(Math.Max(0, (options.SharedTablesRefresh - options.Frequency / 2).TotalSeconds) * Stopwatch.Frequency));
}
