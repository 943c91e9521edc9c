using XtcpEpoll.Loop.Metrics;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// xtcp_os_threads, xtcp_open_fds and xtcp_resident_memory_bytes are the Loop's gauges (published once per
/// poll); the Host refreshes them on every scrape too, so they are current between polls and before the
/// first one (no timer thread: the refresh runs on the scraping thread).
/// </summary>
public static class ProcessGauges
{
    private static int _registered;

    /// <summary>Hooks the refresh into the default registry's collection (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(ProcessStats.Publish);
    }
}
