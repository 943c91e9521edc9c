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
    private readonly Func<double> _sends;
    private readonly Func<double> _errors;
    private double _lastSends;
    private double _lastErrors;
    private bool _healthy = true;

    /// <summary>Judged from xtcp_sink_sends_total and xtcp_sink_errors_total (all sinks).</summary>
    public SinkHealth() : this(static () => Sum(SinkMetrics.SinkSends), static () => Sum(SinkMetrics.SinkErrors)) { }

    public SinkHealth(Func<double> sendsTotal, Func<double> errorsTotal)
    {
        _sends = sendsTotal;
        _errors = errorsTotal;
        _lastSends = sendsTotal();
        _lastErrors = errorsTotal();
    }

    public bool IsHealthy
    {
        get
        {
            lock (_lock)
            {
                var sends = _sends();
                var errors = _errors();
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
