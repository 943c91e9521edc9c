using Prometheus;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Host.Metrics;

/// <summary>Registry set-up done once per process before any metric is created.</summary>
public static class HostMetrics
{
    private static int _initialized;

    /// <summary>
    /// Every class that registers xtcp_* metrics in the default registry. Their type initializers run at
    /// start-up, so each metric and each known label value is in the first scrape at 0, whatever the options
    /// (attribution off, no metrics client yet, a sink that never fails) and before its first event.
    /// <see cref="Initialize"/> touches each one (ReadmeMetricsTests' first-scrape test fails if one is missed).
    /// </summary>
    public static readonly Type[] MetricClasses = [typeof(LoopMetrics), typeof(AttributionMetrics), typeof(SinkMetrics), typeof(EndpointMetrics), typeof(Control.ControlMetrics)];

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
        // Reading one static field runs the class's whole initializer: every metric in it is created. This is
        // what RuntimeHelpers.RunClassConstructor did, without reflection the Native AOT compiler cannot see
        // through (IL2059 on an array of types).
        GC.KeepAlive(LoopMetrics.NamespacesOpen);
        GC.KeepAlive(AttributionMetrics.CgroupLookups);
        GC.KeepAlive(SinkMetrics.RecordsEmitted);
        GC.KeepAlive(EndpointMetrics.ConnectionsAccepted);
        GC.KeepAlive(Control.ControlMetrics.StreamSubscribers);
    }
}
