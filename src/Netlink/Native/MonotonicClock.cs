using System.Diagnostics;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// The one place that converts between <see cref="Stopwatch"/> ticks (the monotonic clock every deadline,
/// schedule and age in the daemon is kept in), <see cref="TimeSpan"/>s and epoll/poll millisecond timeouts,
/// and that reads CLOCK_REALTIME as Unix nanoseconds (a record's timestamp_ns).
/// </summary>
public static class MonotonicClock
{
    /// <summary>Now, in Stopwatch ticks.</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary><paramref name="span"/> in Stopwatch ticks.</summary>
    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// An epoll_wait/poll timeout that wakes no earlier than <paramref name="due"/> (Stopwatch ticks): -1 for
    /// <see cref="long.MaxValue"/> (nothing due), 0 when already due, otherwise the milliseconds left rounded up,
    /// because rounding down would wake a tick early and spin once more before the deadline.
    /// </summary>
    public static int TimeoutMs(long due, long now)
    {
        if (due == long.MaxValue) return -1;
        long remaining = due - now;
        if (remaining <= 0) return 0;
        return (int)Math.Min(int.MaxValue, (remaining * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
    }

    /// <summary>CLOCK_REALTIME now as Unix nanoseconds (100 ns resolution): the wall time a record carries.</summary>
    public static long UnixNanosNow() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
