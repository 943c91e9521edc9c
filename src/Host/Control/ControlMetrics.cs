using Prometheus;

namespace XtcpEpoll.Host.Control;

/// <summary>The control plane's metrics (record streams to FlatRecords / PollFlatRecords clients).</summary>
public static class ControlMetrics
{
    public static readonly Gauge StreamSubscribers = Prometheus.Metrics.CreateGauge(
        "xtcp_stream_subscribers", "Clients receiving records now (FlatRecords and PollFlatRecords streams).");
    public static readonly Counter StreamRecordsDropped = Prometheus.Metrics.CreateCounter(
        "xtcp_stream_records_dropped_total", "Records not sent to a stream client because its queue was full (it reads slower than records are made).");
    public static readonly Counter StreamDisconnects = Prometheus.Metrics.CreateCounter(
        "xtcp_stream_disconnects_total", "Stream clients disconnected by the daemon because they kept not reading (their queue stayed full).");
    public static readonly Counter ControlRequests = Prometheus.Metrics.CreateCounter(
        "xtcp_control_requests_total", "gRPC control requests by method and result (ok, or the gRPC status code name).",
        new CounterConfiguration { LabelNames = ["method", "result"] });
}
