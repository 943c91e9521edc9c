using Prometheus;

namespace XtcpEpoll.Host.Metrics;

/// <summary>The metrics endpoint's own metrics (default registry): what clients cost it and what it refused.</summary>
public static class EndpointMetrics
{
    public static readonly Counter ConnectionsAccepted = Prometheus.Metrics.CreateCounter(
        "xtcp_metrics_connections_accepted_total", "Connections the metrics endpoint accepted (refused ones included).");
    public static readonly Counter ConnectionsRefused = Prometheus.Metrics.CreateCounter(
        "xtcp_metrics_connections_refused_total",
        "Connections closed at once, unanswered, because the endpoint already held its maximum of connections (64 by default).");
    public static readonly Counter ConnectionsTimedOut = Prometheus.Metrics.CreateCounter(
        "xtcp_metrics_connections_timed_out_total",
        "Connections closed by their deadline, by phase: request (no complete request head within 5 s of accept, answered 408), response (the client did not take its whole response within 10 s, reset).",
        new CounterConfiguration { LabelNames = ["phase"] });
    public static readonly Gauge ConnectionsOpen = Prometheus.Metrics.CreateGauge(
        "xtcp_metrics_connections_open", "Connections the metrics endpoint holds now (reading a request or writing a response).");
    public static readonly Counter Responses = Prometheus.Metrics.CreateCounter(
        "xtcp_metrics_responses_total", "Responses the metrics endpoint sent, by HTTP status code.",
        new CounterConfiguration { LabelNames = ["code"] });
    public static readonly Counter AcceptErrors = Prometheus.Metrics.CreateCounter(
        "xtcp_metrics_accept_errors_total",
        "accept() failures other than an empty backlog (EMFILE, ENFILE, ENOBUFS...): the endpoint pauses accepting for 100 ms.");

    public static readonly Counter.Child RequestTimeouts = ConnectionsTimedOut.WithLabels("request");
    public static readonly Counter.Child ResponseTimeouts = ConnectionsTimedOut.WithLabels("response");

    /// <summary>Every status the endpoint sends (label values of xtcp_metrics_responses_total{code}).</summary>
    private static readonly int[] StatusCodes = [200, 400, 404, 405, 408, 431, 500, 503];
    private static readonly Dictionary<int, Counter.Child> ResponsesByStatus = new();

    // Every known label value is exported at 0 from the start (the convention of LoopMetrics): rate() sees
    // the first 408 or 500, and dashboards get series on a healthy daemon.
    static EndpointMetrics()
    {
        foreach (var code in StatusCodes)
            ResponsesByStatus[code] = Responses.WithLabels(code.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Counts one response with <paramref name="status"/> (no string formatted per response).</summary>
    public static void CountResponse(int status)
    {
        if (ResponsesByStatus.TryGetValue(status, out var child)) child.Inc();
        else Responses.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
    }
}
