using System.Diagnostics;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>What every namespace dump asks the kernel for, derived once from <see cref="CollectorOptions"/>.</summary>
/// <param name="Mode">compat (one walk for both families) or v2 (AF_INET, then AF_INET6).</param>
/// <param name="States">idiag_states wanted (bit = 1 &lt;&lt; TCP state).</param>
/// <param name="IdiagExt">Attributes asked for.</param>
/// <param name="WalkIntervalTicks">
/// Stopwatch ticks between two full walks of a namespace (--walk-interval); 0 = every poll walks in full and
/// nothing is looked up (no known sockets are kept).
/// </param>
internal sealed record DumpSettings(RequestMode Mode, uint States, byte IdiagExt, long WalkIntervalTicks)
{
    /// <summary>
    /// The TCP states the kernel's per-namespace "inuse" counters count (hashed full sockets: listeners and the
    /// established table without TIME-WAIT and request sockets).
    /// </summary>
    public const uint InUseStates = 1u << TcpState.Established | 1u << TcpState.SynSent | 1u << TcpState.FinWait1
        | 1u << TcpState.FinWait2 | 1u << TcpState.CloseWait | 1u << TcpState.LastAck | 1u << TcpState.Listen | 1u << TcpState.Closing;

    /// <summary>
    /// A namespace's TCP counters can tell it holds sockets its lookups did not find: keys are kept (walks on an
    /// interval) and every state the counters count is wanted (with fewer states the counters would always
    /// exceed what the requests may find).
    /// </summary>
    public bool UsesTcpCounters => WalkIntervalTicks > 0 && (States & InUseStates) == InUseStates;

    public static DumpSettings From(CollectorOptions options) => new(
        options.Request,
        options.States,
        options.IdiagExt,
        WalkIntervalTicks: (long)(options.WalkInterval.TotalSeconds * Stopwatch.Frequency));
}
