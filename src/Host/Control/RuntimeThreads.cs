namespace XtcpEpoll.Host.Control;

/// <summary>
/// Starts, once, the runtime threads the control plane will use sooner or later, so the daemon's thread count is
/// the same from start-up on (design/PERFORMANCE.md, "Control plane threads"): the thread pool's one worker (with
/// its gate thread), which never retires (src/Host's project caps the pool at one worker with no idle timeout),
/// and .NET's timer thread, which the first gRPC deadline, Task.Delay or CancelAfter would start.
/// </summary>
internal static class RuntimeThreads
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(10);

    /// <summary>False when the pool's worker did not run within 10 s (it will come later, the count then grows by it).</summary>
    public static bool Start()
    {
        // A finite due time is what starts the timer thread; the timer itself is gone at once, the thread stays.
        using (new Timer(static _ => { }, null, TimeSpan.FromDays(1), Timeout.InfiniteTimeSpan)) { }
        using var ran = new ManualResetEventSlim();
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Set(), ran, preferLocal: false);
        return ran.Wait(StartPatience);
    }
}
