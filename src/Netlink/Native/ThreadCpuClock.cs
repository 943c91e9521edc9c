using Tmds.Linux;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// CPU time the calling thread has consumed (clock_gettime(CLOCK_THREAD_CPUTIME_ID)). On a shared machine a
/// thread that waits for a core accrues none, so a cost measured with it is not inflated by load the way a
/// wall-clock figure (BenchmarkDotNet's) is.
/// </summary>
public static unsafe class ThreadCpuClock
{
    /// <summary>Nanoseconds of CPU used by this thread so far; throws if the clock cannot be read (never on Linux).</summary>
    public static long NowNs()
    {
        timespec now;
        if (LibCAdditions.clock_gettime(LibCAdditions.CLOCK_THREAD_CPUTIME_ID, &now) != 0)
            throw Errno.Failure("clock_gettime(CLOCK_THREAD_CPUTIME_ID)", Errno.Last);
        return (long)now.tv_sec * 1_000_000_000 + (long)now.tv_nsec;
    }
}
