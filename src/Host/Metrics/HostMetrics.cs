using Prometheus;

namespace XtcpEpoll.Host.Metrics;

/// <summary>Registry set-up done once per process before any metric is created.</summary>
public static class HostMetrics
{
    private static int _initialized;

    public static void Initialize()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 1) return;
        // prometheus-net's EventCounter/Meter adapters run listener threads and timers; the daemon's own
        // xtcp_* gauges cover what matters, within the OS-thread budget. process_* (cheap, on scrape) stay.
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false,
            SuppressDebugMetrics = true,
            SuppressEventCounters = true,
            SuppressMeters = true,
        });
        ProcessGauges.Register();
    }
}
