using System.Collections.Concurrent;

namespace XtcpEpoll.Loop.Metrics;

/// <summary>
/// Bytes allocated so far by each collector thread, recorded by the thread itself at each poll end
/// (GC.GetAllocatedBytesForCurrentThread, one call per poll). Lets tests and diagnostics prove that the hot
/// path allocates per poll and per namespace, never per socket.
/// </summary>
public static class ThreadAllocations
{
    private static readonly ConcurrentDictionary<string, long> Bytes = new();

    internal static void RecordCurrentThread() =>
        Bytes[Thread.CurrentThread.Name ?? "?"] = GC.GetAllocatedBytesForCurrentThread();

    /// <summary>Thread name → bytes allocated by that thread up to its last poll end.</summary>
    public static Dictionary<string, long> Snapshot() => new(Bytes);
}
