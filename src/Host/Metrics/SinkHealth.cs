using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// "Is the sink healthy?" for /readyz, judged from the sink counters: unhealthy once sends fail without
/// any send succeeding since the previous check; healthy again as soon as a send succeeds. Cheap: it runs
/// on the metrics thread per /readyz request.
/// </summary>
public sealed class SinkHealth
{
    private readonly object _lock = new();
    private double _lastSends;
    private double _lastErrors;
    private bool _healthy = true;

    public SinkHealth()
    {
        _lastSends = Sum(SinkMetrics.SinkSends);
        _lastErrors = Sum(SinkMetrics.SinkErrors);
    }

    public bool IsHealthy
    {
        get
        {
            lock (_lock)
            {
                var sends = Sum(SinkMetrics.SinkSends);
                var errors = Sum(SinkMetrics.SinkErrors);
                if (sends > _lastSends) _healthy = true;
                else if (errors > _lastErrors) _healthy = false;
                _lastSends = sends;
                _lastErrors = errors;
                return _healthy;
            }
        }
    }

    private static double Sum(Prometheus.Counter counter)
    {
        double total = 0;
        foreach (var labels in counter.GetAllLabelValues()) total += counter.WithLabels(labels).Value;
        return total;
    }
}
