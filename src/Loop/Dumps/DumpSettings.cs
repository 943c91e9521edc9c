using System.Diagnostics;

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
    public static DumpSettings From(CollectorOptions options) => new(
        options.Request,
        options.States,
        options.IdiagExt,
        WalkIntervalTicks: (long)(options.WalkInterval.TotalSeconds * Stopwatch.Frequency));
}
