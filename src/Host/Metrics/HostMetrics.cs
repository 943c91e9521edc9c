using System.Runtime.CompilerServices;
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
        foreach (var type in MetricClasses) RuntimeHelpers.RunClassConstructor(type.TypeHandle);
    }
}
